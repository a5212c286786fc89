"""The performance benchmark: `python -m bench --scale small|medium|large`.

It generates Sparkify data at the chosen scale, measures each figure side by side with its baseline in
one process run (so the machine's noise falls on both), and prints one line per figure:
`name: value unit | baseline: value unit | ratio: x`, then whether each figure meets its target.
"""
