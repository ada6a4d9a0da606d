"""Dataset loading: embedded (generated or packaged) sets and their column layouts."""
