"""Every definition of the code location: one folder per pipeline, plus platform/ (what they share).

pipeline/definitions.py loads them all with dg.load_from_defs_folder.
"""
