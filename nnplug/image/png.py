"""PNG with the standard library's zlib (no Pillow needed): every colour type at 1, 2, 4, 8 and 16 bits,
palettes with transparency, CRCs checked; interlaced files are handed to Pillow when it is installed.
Pixels are (height, width, channels) uint8 or uint16 arrays; errors are ValueErrors the caller names."""
from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel in the file


def _chunks(data):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ValueError(f"PNG chunk {kind!r} is truncated")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise ValueError(f"PNG chunk {kind!r} fails its CRC check")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise ValueError("PNG data ends before its IEND chunk")


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _unfilter(raw, height, stride, bpp):
    """The scanlines with PNG's five filters undone (uint8, (height, stride))."""
    rows = np.frombuffer(raw, np.uint8)
    if rows.size != height * (stride + 1):
        raise ValueError(f"PNG image data holds {rows.size} bytes, expected {height * (stride + 1)}")
    rows = rows.reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 1:  # sub: a running sum per byte of a pixel
            pad = (-stride) % bpp
            cur = (np.cumsum(np.concatenate([line, np.zeros(pad, np.int32)]).reshape(-1, bpp), axis=0)
                   .reshape(-1)[:stride]) & 0xFF
        elif kind == 2:
            cur = (line + prev) & 0xFF
        elif kind in (3, 4):
            cur = line.copy()
            for i in range(0, stride, bpp):
                left = cur[i - bpp:i] if i else np.zeros(min(bpp, stride), np.int32)
                up = prev[i:i + bpp]
                n = len(up)
                if kind == 3:
                    pred = (left[:n] + up) >> 1
                else:
                    corner = prev[i - bpp:i] if i else np.zeros(n, np.int32)
                    pred = _paeth(left[:n], up, corner[:n])
                cur[i:i + n] = (cur[i:i + n] + pred) & 0xFF
        else:
            raise ValueError(f"PNG scanline {y} has an unknown filter type {int(kind)}")
        out[y] = cur
        prev = cur.astype(np.int32)
    return out


def decode(data: bytes) -> np.ndarray:
    """The pixels as in the file: gray, gray+alpha, RGB or RGBA (palettes expanded; low bit depths scaled
    to 8 bits), uint8 or, for 16-bit files, uint16."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    header, palette, trns, idat = None, None, None, []
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body[:13])
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise ValueError("PNG file has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if colour not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise ValueError(f"PNG colour type {colour} at bit depth {depth} is not valid")
    if interlace:
        return _decode_interlaced(data)
    samples = _CHANNELS[colour]
    stride = (width * samples * depth + 7) // 8
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as e:
        raise ValueError(f"PNG image data is corrupt ({e})") from None
    lines = _unfilter(raw, height, stride, max(1, samples * depth // 8))
    if depth == 16:
        pixels = lines.view(">u2").astype(np.uint16).reshape(height, width, samples)
    elif depth == 8:
        pixels = lines.reshape(height, width, samples)
    else:
        bits = np.unpackbits(lines, axis=1).reshape(height, -1, depth)
        values = (bits * (1 << np.arange(depth - 1, -1, -1, dtype=np.uint8))).sum(-1, dtype=np.uint8)
        pixels = values[:, :width * samples].reshape(height, width, samples)
        if colour == 0:
            pixels = (pixels * (255 // ((1 << depth) - 1))).astype(np.uint8)
    if colour == 3:
        if palette is None:
            raise ValueError("PNG palette image has no PLTE chunk")
        index = pixels[..., 0]
        if index.size and int(index.max()) >= len(palette):
            raise ValueError("PNG palette index out of range")
        rgb = palette[index]
        if trns is not None:
            alpha = np.full(len(palette), 255, np.uint8)
            alpha[:len(trns)] = np.frombuffer(trns, np.uint8)[:len(palette)]
            rgb = np.concatenate([rgb, alpha[index][..., None]], axis=-1)
        pixels = rgb
    return pixels


def _decode_interlaced(data):
    try:
        import io

        from PIL import Image
    except ImportError:
        raise ValueError('interlaced PNG files need Pillow: pip install "nnplug[image]"') from None
    img = Image.open(io.BytesIO(data))
    return np.asarray(img.convert({"L": "L", "LA": "LA", "RGB": "RGB"}.get(img.mode, "RGBA"))).reshape(
        img.height, img.width, -1)


def encode(pixels: np.ndarray, level: int = -1) -> bytes:
    """A PNG file of (height, width, 1-4) uint8 or uint16 pixels (no filtering, zlib at `level`)."""
    height, width, channels = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1).view(np.uint8)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b"")
