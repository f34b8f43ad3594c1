"""Writes one section of a skim artifact to a file (the layout is
runtime/lib/Artifact.cpp's: magic, version, count, then length-prefixed
names and sizes): artifact_section.py ARTIFACT NAME OUT."""
import struct
import sys

data = open(sys.argv[1], "rb").read()
if not data.startswith(b"SKIMART\0"):
    sys.exit("not a skim artifact: " + sys.argv[1])
pos = 8
version, count = struct.unpack_from("<II", data, pos)
pos += 8
for _ in range(count):
    (n,) = struct.unpack_from("<I", data, pos)
    name = data[pos + 4:pos + 4 + n].decode()
    pos += 4 + n
    (size,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    if name == sys.argv[2]:
        open(sys.argv[3], "wb").write(data[pos:pos + size])
        sys.exit(0)
    pos += size
sys.exit("no section " + sys.argv[2])
