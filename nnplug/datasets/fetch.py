"""Checked, bounded downloads into a data folder.

pooch does the bookkeeping: a file is downloaded to a temporary name, its hash is compared with the
published one and only then is it moved into place (a cached file with the right hash is not fetched
again). What pooch leaves out is added by `BoundedDownloader`, the downloader handed to it:

- an overall deadline: a per-read timeout never fires against a mirror that sends a byte every few
  seconds, so every read waits at most `min(timeout, READ_TIMEOUT)` and the download is abandoned as soon
  as `timeout` seconds have passed in all;
- a cap on the bytes received (a Content-Length over it is refused before any body is read) and on the
  bytes a gzip stream may inflate to, when the file is unpacked on the way in;
- a check that the body is as long as the server declared (a cut connection is not a complete file);
- a tqdm progress bar.
"""
import http.client
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from tqdm import tqdm

from .errors import DataFileError, DownloadError

DEFAULT_TIMEOUT = 600.0  # seconds for one whole file
READ_TIMEOUT = 30.0  # longest silence tolerated within one read
DEFAULT_MAX_BYTES = 1 << 28  # 256 MiB, received or inflated
CHUNK = 1 << 16


class _Inflater:
    """Writes the gunzipped form of the bytes it is given, refusing to produce more than `limit` bytes."""

    def __init__(self, out, limit, source):
        self.out, self.limit, self.source = out, limit, source
        self.produced = 0
        self._z = zlib.decompressobj(wbits=31)
        self._in_member = False  # inside a gzip member that has not ended yet

    def _emit(self, piece):
        self.produced += len(piece)
        if self.produced > self.limit:
            raise DataFileError(f"{self.source} inflates to more than {self.limit} bytes; refused "
                                f"(a corrupt or hostile gzip file?)")
        self.out.write(piece)

    def write(self, data):
        try:
            while data:
                self._emit(self._z.decompress(data, CHUNK))  # bounded output per call: no bomb in memory
                self._in_member = not self._z.eof
                if self._z.eof:  # a multi-member gzip file: the next member starts in unused_data
                    data, self._z = self._z.unused_data, zlib.decompressobj(wbits=31)
                else:
                    data = self._z.unconsumed_tail
        except zlib.error as e:
            raise DataFileError(f"{self.source} is not valid gzip data ({e})") from e

    def close(self):
        self._emit(self._z.flush())  # the few bytes zlib may still hold
        if self._in_member and not self._z.eof:
            raise DataFileError(f"{self.source} ends inside its gzip stream (cut short?)")


class BoundedDownloader:
    """A pooch downloader (`downloader(url, output_file, pooch)`) with a deadline, byte caps and progress.

    `what` names the file in errors; `hint` is appended to every download error (what to do instead).
    """

    def __init__(self, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES, gunzip=False, progress=True,
                 what=None, hint=""):
        self.timeout, self.max_bytes, self.gunzip, self.progress = float(timeout), int(max_bytes), gunzip, progress
        self.what, self.hint = what, hint

    def _error(self, message):
        return DownloadError(message + self.hint)

    def __call__(self, url, output_file, pooch=None, check_only=False):  # noqa: ARG002 - pooch's signature
        name = url.rsplit("/", 1)[-1]
        source = f"{self.what or name} from {url}"
        start = time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=min(self.timeout, READ_TIMEOUT)) as response, \
                    open(output_file, "wb") as out, \
                    tqdm(unit="B", unit_scale=True, desc=name, leave=False, disable=not self.progress) as bar:
                declared = response.headers.get("Content-Length")
                declared = int(declared) if declared and declared.isdigit() else None
                if declared is not None and declared > self.max_bytes:
                    raise self._error(f"{source} is {declared} bytes, more than the {self.max_bytes}-byte "
                                      f"limit; refused")
                bar.reset(total=declared)
                sink = _Inflater(out, self.max_bytes, source) if self.gunzip else out
                received = 0
                while chunk := response.read1(CHUNK):  # returns what has arrived: the deadline is checked often
                    received += len(chunk)
                    if received > self.max_bytes:
                        raise self._error(f"{source} sent more than the {self.max_bytes}-byte limit; refused")
                    if time.monotonic() - start > self.timeout:
                        raise self._error(f"{source} did not finish within the {self.timeout:g} s deadline "
                                          f"({received} bytes received)")
                    sink.write(chunk)
                    bar.update(len(chunk))
                if declared is not None and received < declared:
                    raise self._error(f"{source} was cut short: {received} of {declared} bytes received")
                if self.gunzip:
                    sink.close()
        except (DownloadError, DataFileError):
            raise
        except (OSError, http.client.HTTPException) as e:  # URLError, HTTPError, timeouts, resets
            detail = f"HTTP {e.code} {e.reason}" if isinstance(e, urllib.error.HTTPError) else \
                getattr(e, "reason", None) or e
            raise self._error(f"could not download {source}: {detail}") from e


def fetch(url, folder, fname, known_hash, *, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES,
          gunzip=False, progress=True, what=None, hint=""):
    """Path of `folder/fname`, downloaded from `url` (unpacked on the way in when `gunzip`) unless a copy
    with `known_hash` ("sha256:..." or "md5:...", of the stored file) is already there. `what` names the
    file in errors and `hint` (appended to download errors) says what to do instead."""
    import pooch  # here, not at import: it adds ~30 ms to `import nnplug`

    what = what or fname
    downloader = BoundedDownloader(timeout, max_bytes, gunzip, progress, what, hint)
    try:
        return Path(pooch.retrieve(url, known_hash, fname=fname, path=folder, downloader=downloader))
    except (DownloadError, DataFileError):
        raise
    except ValueError as e:  # pooch's hash mismatch; it has already deleted the download
        raise DataFileError(f"checksum mismatch for {what} downloaded from {url}: {e}") from e
