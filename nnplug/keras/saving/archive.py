"""Reading zip members of model files as untrusted input: only the members a format names, each read lazily
in chunks up to a cap fixed before reading (a member's declared size is not trusted), CRC-checked by zipfile,
and .npy members parsed by header first so their size is known before any data is read (never unpickled)."""
import io
import math
import zipfile

import numpy as np

from .errors import ModelFileError

CHUNK = 1 << 20
MAX_JSON_BYTES = 4 << 20  # config.json / metadata.json / an npz's config string
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def open_zip(path, source):
    try:
        zf = zipfile.ZipFile(source)
    except Exception as e:  # noqa: BLE001 - BadZipFile, NotImplementedError (a zip version), OSError, EOFError ...
        raise ModelFileError(path, f"not a readable zip archive ({type(e).__name__}: {e})") from None
    names = [i.filename for i in zf.infolist()]
    if len(set(names)) != len(names):
        raise ModelFileError(path, "the archive names a member twice")
    for info in zf.infolist():
        if info.flag_bits & 0x1:
            raise ModelFileError(path, f"member '{info.filename}' is encrypted")
        if info.compress_type not in _METHODS:
            raise ModelFileError(path, f"member '{info.filename}' uses an unsupported compression "
                                       f"(method {info.compress_type})")
    return zf


def read_member(zf, name, cap, path):
    """The member's bytes; more than `cap` bytes (declared or actual) is an error before they are kept."""
    info = zf.getinfo(name)
    if info.file_size > cap:
        raise ModelFileError(path, f"member '{name}' declares {info.file_size} bytes, more than the {cap} "
                                   f"this load expects")
    try:
        with zf.open(info) as f:
            data = bytearray()
            while True:
                chunk = f.read(min(CHUNK, cap + 1 - len(data)))
                if not chunk:
                    return bytes(data)
                data += chunk
                if len(data) > cap:
                    raise ModelFileError(path, f"member '{name}' holds more than the {cap} bytes this load expects")
    except ModelFileError:
        raise
    except Exception as e:  # noqa: BLE001 - BadZipFile (a bad CRC), zlib.error, EOFError, OSError ...
        raise ModelFileError(path, f"member '{name}' is corrupted ({type(e).__name__}: {e})") from None


def npy_header(zf, name, path):
    """(shape, dtype) of an .npy member, read from its header alone."""
    try:
        with zf.open(name) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:  # noqa: BLE001 - ValueError/SyntaxError (a bad header), BadZipFile, zlib.error ...
        raise ModelFileError(path, f"member '{name}' is not a valid .npy array ({type(e).__name__}: {e})") from None
    if dtype.hasobject or dtype.kind not in "biufU" or fortran:
        raise ModelFileError(path, f"member '{name}' holds {dtype} data{' in Fortran order' if fortran else ''}; "
                                   f"only plain numeric arrays are read")
    return tuple(shape), dtype


def npy_array(zf, name, path, shape, dtype):
    """The array of an .npy member whose header said (shape, dtype): exactly that many bytes, no more."""
    nbytes = math.prod(shape) * dtype.itemsize
    try:
        with zf.open(name) as f:
            header_end = _header_length(f)
    except Exception as e:  # noqa: BLE001 - as in npy_header
        raise ModelFileError(path, f"member '{name}' is not a valid .npy array ({type(e).__name__}: {e})") from None
    raw = read_member(zf, name, header_end + nbytes, path)
    if len(raw) != header_end + nbytes:
        raise ModelFileError(path, f"member '{name}' holds {len(raw) - header_end} data bytes, its header "
                                   f"declares {nbytes}")
    return np.frombuffer(raw, dtype=dtype, offset=header_end, count=math.prod(shape)).reshape(shape).copy()


def _header_length(f):
    version = np.lib.format.read_magic(f)
    (np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0)(f)
    return f.tell()


def npy_bytes(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()
