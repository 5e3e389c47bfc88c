"""Builders of broken inputs for tests/test_faults.py, each made from a real fixture: a cut, a lie in
a header, a flipped checksum ... Each returns the bytes (or writes the file) the test then reads."""
from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
IO = FIXTURES / "io"
CLUEWEB = IO / "clueweb-quirk.warc.gz"          # 29 HTML responses, one gzip member per record
PYWB = IO / "pywb-example.warc"                 # plain WARC: warcinfo, response, request, revisit ...
LINGUA = IO / "lingua.jsonl"                    # 120 real news records


def gzip_members(data: bytes) -> list[int]:
    """Start offsets of the gzip members of a per-record gzipped WARC."""
    starts, pos = [], 0
    while pos < len(data):
        starts.append(pos)
        d = zlib.decompressobj(31)
        d.decompress(data[pos:])
        pos = len(data) - len(d.unused_data)
    return starts


def cut_warc_gz(data: bytes) -> bytes:
    """`head -c`: the file ends in the middle of its last record's member."""
    last = gzip_members(data)[-1]
    return data[:last + (len(data) - last) // 2]


def response_at(data: bytes, nth: int = 0) -> tuple[int, int, int, int]:
    """(record start, Content-Length value start, value end, header end) of the nth response record of
    a plain WARC."""
    pos = -1
    for _ in range(nth + 1):
        pos = data.index(b"WARC-Type: response", pos + 1)
    start = data.rindex(b"WARC/1.0", 0, pos)
    cl = data.index(b"Content-Length: ", start) + len(b"Content-Length: ")
    return start, cl, data.index(b"\r\n", cl), data.index(b"\r\n\r\n", start) + 4


def wrong_content_length(data: bytes, delta: int) -> bytes:
    """The first response record's Content-Length off by ``delta`` bytes."""
    _, a, b, _ = response_at(data)
    return data[:a] + str(int(data[a:b]) + delta).encode() + data[b:]


def header_without_body(data: bytes) -> bytes:
    """The first response record's header block alone, directly followed by the next record."""
    start, _, _, hend = response_at(data)
    nxt = data.index(b"WARC/1.0", hend)
    return data[:hend] + data[nxt:]


def warc_record(uri: str, body: bytes, content_type: str) -> bytes:
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            f"WARC-Record-ID: <urn:uuid:{abs(hash(uri)):032x}>\r\nContent-Type: application/http; msgtype=response\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


def mislabelled_utf8_warc(text: str) -> bytes:
    """A UTF-8 page whose HTTP header says ISO-8859-1 (the usual mislabel)."""
    body = f"<html><head><title>t</title></head><body><p>{text}</p></body></html>".encode()
    return warc_record("http://example.org/de", body, "text/html; charset=ISO-8859-1")


def bad_crc(gz: bytes) -> bytes:
    """A gzip stream whose CRC32 trailer is wrong (the data itself intact)."""
    crc = struct.unpack("<I", gz[-8:-4])[0] ^ 0xFFFFFFFF
    return gz[:-8] + struct.pack("<I", crc) + gz[-4:]


def truncated_gz(raw: bytes) -> bytes:
    gz = gzip.compress(raw)
    return gz[: len(gz) * 2 // 3]


def gzip_bomb(mib: int) -> bytes:
    """``mib`` MiB of one repeated line compressed to about a thousandth of that."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"all work and no play makes a dull corpus\n" * 25_000      # ~1 MiB
    out = [c.compress(block) for _ in range(mib)]
    return b"".join(out) + c.flush()


def lying_zip(files: dict[str, bytes], big: str, big_size: int) -> bytes:
    """A zip whose member ``big`` holds ``big_size`` bytes while both its headers say 10."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        z.writestr(big, b"x = 1\n" * (big_size // 6))
    data = bytearray(buf.getvalue())
    name = big.encode()
    for sig, size_off, name_off in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        pos = 0
        while (pos := data.find(sig, pos)) >= 0:
            if data[pos + name_off: pos + name_off + len(name)] == name:
                data[pos + size_off: pos + size_off + 4] = struct.pack("<I", 10)
            pos += 4
    return bytes(data)


def zip_with_links(files: dict[str, bytes]) -> bytes:
    """A zip of real files plus a symlink entry (target /etc/passwd), a ../ path and an absolute path."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
        link = zipfile.ZipInfo("repo/passwd.py")
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/passwd")
        z.writestr("repo/../../escape.py", b"print('escaped')\n")
        z.writestr("/abs/path.py", b"print('absolute')\n")
    return buf.getvalue()


def tar_with_links(files: dict[str, bytes]) -> bytes:
    """The same as ``zip_with_links`` as a .tar.gz: a symlink, a hard link, a ../ path, an absolute path."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, data in files.items():
            add(name, data)
        for kind, name in ((tarfile.SYMTYPE, "repo/passwd.py"), (tarfile.LNKTYPE, "repo/hard.py")):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, "/etc/passwd"
            t.addfile(link)
        add("repo/../../escape.py", b"print('escaped')\n")
        add("/abs/path.py", b"print('absolute')\n")
    return buf.getvalue()
