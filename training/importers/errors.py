"""Why an import failed; each message names the path or name at fault and what to change."""

from __future__ import annotations


class ImporterError(ValueError):
    """Base of every import failure; the CLI prints its message and exits with code 2."""


class LayoutError(ImporterError):
    """The folder does not look like the layout the importer expects (a missing folder, file or mask)."""


class LabelMapError(ImporterError):
    """A label map that does not parse, or a source name or target value it does not cover."""


class UnknownImporterError(ImporterError, LookupError):
    """No importer is registered under the requested layout name."""


class DuplicateImporterError(ImporterError):
    """Two importers tried to register under one name."""


class CatalogError(ImporterError):
    """A catalog entry that is missing or incomplete."""
