"""Readers: files in the formats users have -> :class:`~search.models.Article` records.

(Interface; implemented in this package's modules.)

- ``discover(paths, report) -> Iterator[Path]``: regular files under the paths, recursively,
  sorted, absolute; README/LICENSE/SOURCE files are not articles; a missing path is reported.
- ``read_file(path, report) -> Iterator[Article]``: every article in one file on disk
  (archives and .gz transparently); each bad file or record is reported as an
  :class:`~search.errors.ArticleReadError` and skipped.
"""
