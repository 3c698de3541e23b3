"""Stream views: one output of a pack sorted by time, with documents proving no row was lost.

The room holds the view's documents and their validation (documents), one output as a view
command sees it (target), the sort plan (plan), the range sort (sort), the build, the
verification, the reader and the Dask cluster runner. Where a view lives and by which keys
it is sorted are facts of the pack (core/view_location.py, below core/pack.py).
"""
