"""The two ways a data set can fail to load, shared by every loader in `nnplug.datasets`."""


class DataFileError(ValueError):
    """A data file that exists (on disk or on the wire) but is not what it should be: bad header, wrong
    size, failed checksum, or a compressed stream that would inflate past its limit."""


class DownloadError(OSError):
    """A download that could not finish: unreachable mirror, too slow, cut short or larger than allowed."""
