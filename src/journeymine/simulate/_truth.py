"""The ground truth written beside simulated data.

``units`` has one row per (effect, KPI, unit): the unit's object, whether the effect's cause applied to
it (``treated``) and its outcome with and without the effect: a probability (an abandonment, a
contact) or a value (an NPS score, a repeat purchase 0/1) drawn with the same random numbers, so
``with_effect - without_effect`` is that unit's true individual effect. The true effect of a planted
cause on its KPI is the mean of that difference over the treated units (the effect on the treated);
for the confounder's option and the null effect it is zero by construction. ``people`` holds the
hidden persona of every simulated person with their customer and visitor ids; ``contacts`` the true
reason and value class of every service contact (by ticket).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import ConfigError
from ._config import EFFECTS

__all__ = ["Truth"]

_TABLES = ("units", "people", "contacts")


@dataclasses.dataclass
class Truth:
    parameters: dict[str, object]
    units: pa.Table
    people: pa.Table
    contacts: pa.Table

    def effects(self) -> list[dict[str, object]]:
        """One summary per (effect, KPI): units, treated, the true effect on the treated, the mean outcome
        of treated and untreated units as they happened, and the effect's parameters and mechanism."""
        out = []
        if self.units.num_rows == 0:
            return out
        keys = self.units.select(["effect", "kpi"]).group_by(["effect", "kpi"], use_threads=False).aggregate([])
        for effect, kpi in zip(keys["effect"].to_pylist(), keys["kpi"].to_pylist()):
            rows = self.units.filter(pc.and_(pc.equal(self.units["effect"], effect), pc.equal(self.units["kpi"], kpi)))
            treated = rows["treated"].to_numpy(zero_copy_only=False)
            y0, y1 = rows["without_effect"].to_numpy(), rows["with_effect"].to_numpy()
            actual = np.where(treated, y1, y0)
            out.append({
                "effect": effect, "kpi": kpi, "mechanism": _doc(effect), "units": int(rows.num_rows),
                "treated": int(treated.sum()),
                "true_effect": float((y1 - y0)[treated].mean()) if treated.any() else 0.0,
                "mean_treated": float(actual[treated].mean()) if treated.any() else None,
                "mean_untreated": float(actual[~treated].mean()) if (~treated).any() else None,
                "parameters": self.parameters["effects"].get(effect, {}),
            })
        return out

    def effect(self, effect: str, kpi: str | None = None) -> dict[str, object]:
        """The summary of one effect (and KPI, when the effect has several)."""
        found = [e for e in self.effects() if e["effect"] == effect and (kpi is None or e["kpi"] == kpi)]
        if len(found) != 1:
            kpis = [e["kpi"] for e in self.effects() if e["effect"] == effect]
            raise ConfigError(f"No single truth for effect {effect!r} and kpi {kpi!r}; its KPIs are {kpis}",
                              field="kpi")
        return found[0]

    def unit_table(self, effect: str, kpi: str) -> pa.Table:
        u = self.units
        return u.filter(pc.and_(pc.equal(u["effect"], effect), pc.equal(u["kpi"], kpi)))

    def write(self, directory: str | Path) -> Path:
        """``truth.json`` (parameters and effect summaries) and one Parquet file per table."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        (d / "truth.json").write_text(json.dumps({"parameters": self.parameters, "effects": self.effects()},
                                                 indent=2, default=str), encoding="utf-8")
        for name in _TABLES:
            pq.write_table(getattr(self, name), d / f"{name}.parquet")
        return d

    @classmethod
    def read(cls, directory: str | Path) -> Truth:
        d = Path(directory)
        if not (d / "truth.json").exists():
            raise ConfigError(f"No truth.json in {str(d)!r}", field="truth")
        meta = json.loads((d / "truth.json").read_text(encoding="utf-8"))
        return cls(meta["parameters"], *(pq.read_table(d / f"{name}.parquet") for name in _TABLES))


def _doc(effect: str) -> str:
    return " ".join((EFFECTS[effect].__doc__ or "").split()) if effect in EFFECTS else ""
