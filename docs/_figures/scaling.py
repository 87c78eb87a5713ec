"""The scaling curves of the performance page, drawn from their record
(benchmarks/records/scaling.json) when the documentation is built."""

from benchmarks.figures import record
from benchmarks.scaling import draw

draw(record("scaling"))
