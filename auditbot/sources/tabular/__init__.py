"""Reading files others send us: what a file really is, its header, its rows typed, in one import pipeline."""
