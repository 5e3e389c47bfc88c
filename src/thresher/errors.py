"""One exception tree. Anything a user can cause is a ThresherError; the CLI prints it as one line."""


class ThresherError(Exception):
    """Base of every error a user can cause (bad config, missing input, corrupt release ...)."""


class ConfigError(ThresherError):
    """The pipeline YAML or its options are invalid."""


class InputError(ThresherError):
    """An input file is missing, unreadable or in an unsupported format."""


class ReleaseError(ThresherError):
    """A release on disk is missing, incomplete, or does not match its manifest."""
