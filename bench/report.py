"""Figures and how they are printed: `name: value unit | baseline: value unit | ratio: x`, then the targets."""

import operator
import statistics
from dataclasses import dataclass

COMPARE = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline: float
    baseline_unit: str
    ratio: float
    target: str  # "<op> <number>" on the ratio (or the value: absolute), e.g. ">= 0.7"; "" for no target
    meaning: str  # what the ratio is, for the target lines
    note: str = ""  # what else was measured to read the figure by
    absolute: bool = False  # the target bounds the value itself, in its unit (e.g. "<= 250" MB), not the ratio

    def line(self) -> str:
        return (
            f"{self.name}: {_number(self.value)} {self.unit} | baseline: {_number(self.baseline)} "
            f"{self.baseline_unit} | ratio: {_number(self.ratio)}"
        )

    @property
    def met(self) -> bool:
        if not self.target:
            return True
        op, bound = self.target.split()
        return COMPARE[op](self.value if self.absolute else self.ratio, float(bound))

    def verdict(self) -> str:
        if not self.target:
            return f"  info   {self.name}: ratio {_number(self.ratio)} ({self.meaning})"
        measured = (
            f"{_number(self.value)} {self.unit} {self.target} {self.unit}"
            if self.absolute
            else f"ratio {_number(self.ratio)} {self.target}"
        )
        verdict = f"  {'met   ' if self.met else 'MISSED'} {self.name}: {measured} ({self.meaning})"
        return verdict + (f"\n         {self.note}" if self.note else "")


def _number(value: float) -> str:
    if value == 0 or abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.3g}"


def median(values: list[float]) -> float:
    return statistics.median(values)
