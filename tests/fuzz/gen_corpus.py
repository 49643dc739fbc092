#!/usr/bin/env python3
"""Write the seed corpus of the fuzz harnesses: tests/fuzz/corpus/<harness>/.

    python3 tests/fuzz/gen_corpus.py          (from anywhere)

The seeds are small real examples in each harness's input layout (see the
comment at the top of each fuzz_<name>.c): attribute answers, topics,
Dragino records, client scripts, AT console lines and downlinks, module
transcripts. The output is deterministic; the files are committed, and
tests/run.sh replays them (plus what libFuzzer derives from them) on every
run. Files whose name starts with "regress-" are crash reproducers found
by fuzzing; this script never touches them.
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def tb_hex(c):
    return struct.pack("<I", c).hex()


def write(harness, seeds):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.startswith("seed-"):
            os.remove(os.path.join(d, name))
    for i, s in enumerate(seeds):
        if isinstance(s, str):
            s = s.encode("utf-8", "surrogatepass")
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(s)
    print("%-16s %3d seeds" % (harness, len(seeds)))


def offer(title="s31-nb", version="v1.6.0", size=55512, algo="CRC32", checksum="2639f4cb", extra=""):
    return ('{"shared":{"fw_title":"%s","fw_version":"%s","fw_size":%s,'
            '"fw_checksum_algorithm":"%s","fw_checksum":"%s"%s}}'
            % (title, version, size, algo, checksum, extra))


SHA = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

ATTRS = [
    offer(),
    offer(algo="SHA256", checksum=SHA),
    offer(algo="SHA256", checksum=SHA.upper()),
    "{}",
    '{"shared":{}}',
    '{"client":{"x":1}}',
    '{"shared":{"fw_title":"s31-nb"}}',
    '{"shared":{"fw_title":"other","fw_version":"v9"}}',
    offer(version="v1.5.0"),
    offer(size=0),
    offer(size=-5),
    offer(size="4294967296"),
    offer(size='"1000"'),
    offer(size="1.5"),
    offer(size="2e3"),
    offer(size=1030),
    offer(algo="MD5", checksum="00"),
    offer(checksum="639f4cb"),
    offer(checksum="2639f4cg"),
    offer(title="s31\\u002dnb"),
    offer(version="\\ud83d\\ude00"),
    '{"shared":{"fw_title":"s31-nb","fw_title":"s31-nb"}}',
    '{"shared":{},"shared":{}}',
    '{"shared":{"x":[[[[[[1]]]]]],"fw_title":"s31-nb"}}',
    '{"shared":{"x":[[[[[[[1]]]]]]]}}',
    '{"shared":{"fw_title":"s31-nb","fw_version":"v1.6.0"',
    '{"deleted":["fw_title","fw_version"]}',
    ' \t\r\n{ "shared" : { "fw_title" : "s31-nb" } } ',
    '{"fw_title":"s31-nb","fw_version":"v2","fw_size":10}',
    "[1,2,3]",
]

JSON_EXTRA = [
    '{"Config":"[AT+OTASER=thingseye.io,1885;AT+OTACLT=tok;AT+UPGRADE]"}',
    '"\\u0000"', '"\\ud800"', '"\\udc00\\ud800"', '"\\"\\\\\\/\\b\\f\\n\\r\\t"',
    "0", "-0", "-1", "4294967295", "4294967296", "1e3", "1.0", "01", "true", "false", "null",
    '{"a":{"a":{"a":{"a":1}}}}', "[]", '{"":""}', '"\xc3\xa9"',
]

TOPICS = [
    "v2/fw/response/17/chunk/0", "v2/fw/response/4294967295/chunk/4294967295",
    "v2/fw/response/4294967296/chunk/1", "v2/fw/response//chunk/1", "v2/fw/response/1/chunk/",
    "v2/fw/response/1/chunk/2/", "v2/fw/response/1/chunk/2x", "v2/fw/response/-1/chunk/2",
    "v2/fw/response/+/chunk/+", "v2/fw/request/1/chunk/2", "v2/fw/response/007/chunk/010",
    "v1/devices/me/attributes/response/12", "v1/devices/me/attributes/response/",
    "v1/devices/me/attributes/response/0", "v1/devices/me/attributes", "v2/fw/error",
    "v2/fw/error/", "v2/fw/erro", "v1/devices/me/telemetry", "", "v2/fw/response/1",
    "v2/fw/response/1/chunk/1\x00", "tb/tok/v2/fw/response/1/chunk/1",
    "v1/devices/me/attributes/response/99999999999",
]


def records(n_image, seed):
    x = seed
    img = bytearray()
    for _ in range(n_image):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        img.append(x >> 24)
    pkg = bytearray()
    for i in range(0, n_image, 1024):
        d = bytes(img[i:i + 1024])
        pkg += d + struct.pack("<I", crc(d))
    return bytes(img), bytes(pkg)


def pkg_seed(fmt, pkg_size, chunk_size, k, flags, body):
    return bytes([fmt]) + struct.pack("<III", pkg_size, chunk_size, k) + bytes([flags]) + body


def pkg_seeds():
    img, pkg = records(2000, 1)
    out = [
        pkg_seed(0, len(pkg), 0, 0, 0, pkg[:1028]),           # a full record
        pkg_seed(0, len(pkg), 0, 1, 0, pkg[1028:]),           # the short last record
        pkg_seed(0, len(pkg), 0, 1, 1, img[1024:]),           # CRC appended by the harness
        pkg_seed(0, len(pkg), 0, 0, 0, pkg[:1027]),           # one byte short
        pkg_seed(0, len(pkg), 0, 0, 0, pkg[:1028] + b"\xaa"),  # one byte long
        pkg_seed(0, len(pkg), 0, 2, 0, b""),                  # past the end
        pkg_seed(0, 1030, 0, 0, 0, b""),                      # no room for a CRC
        pkg_seed(0, 1033, 0, 1, 1, b"\x01"),                  # 1-byte last record
        pkg_seed(0, 0, 0, 0, 0, b""),
        pkg_seed(0, 0xFFFFFFFF, 0, 0, 0, b""),
        pkg_seed(1, 2000, 512, 3, 0, img[1536:2000]),
        pkg_seed(1, 2000, 512, 0, 0, img[:512]),
        pkg_seed(1, 2000, 1, 1999, 0, img[1999:]),
        pkg_seed(1, 2000, 65536, 0, 0, img),
        pkg_seed(1, 2000, 65537, 0, 0, b""),
        pkg_seed(1, 2000, 0, 0, 0, b""),
        pkg_seed(1, 0xFFFFFFFF, 1, 0xFFFFFFFE, 0, b"\x00"),
        pkg_seed(1, 4096, 1024, 4, 0x08, b""),
        pkg_seed(0, 4112, 0, 3, 0x0f, img[:1024]),
        pkg_seed(2, 10, 10, 0, 0, b"0123456789"),
    ]
    img2, pkg2 = records(1, 2)
    out.append(pkg_seed(0, len(pkg2), 0, 0, 0, pkg2))
    return out


def client(a, b, c, end, ops, now=0):
    return bytes([a, b, c, now, end]) + b"".join(ops)


def op_offer(f=0, image_len=5000, seed=1, size=None, checksum=None):
    s = bytes([0, f]) + struct.pack("<H", image_len) + bytes([seed])
    if f & 0x20:
        s += struct.pack("<I", size)
    if f & 0x40:
        s += checksum
    return s


def field(b):
    if isinstance(b, str):
        b = b.encode()
    return bytes([len(b)]) + b


NOP = b"\x0f"
SERVE = b"\x03"


def client_seeds():
    dr, raw = 0x00, 0x01
    raw512 = 0x01 | (2 << 1)
    raw1 = 0x01 | (5 << 1)
    raw7 = 0x01 | (4 << 1)
    w1, w4, w8 = 0x00, 0x03, 0x07
    seeds = [
        client(dr, w1, 0x10, 1, [NOP, op_offer()]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(f=0x10)]),
        client(dr, w8 | 0x80, 0x10, 1, [NOP, op_offer(image_len=12000, seed=3)]),
        client(raw512, w4, 0x10, 1, [NOP, op_offer(image_len=9000)]),
        client(raw1, w1, 0x10, 1, [NOP, op_offer(image_len=300)]),
        client(raw7, w8, 0x10, 1, [NOP, op_offer(f=0x10, image_len=1000)]),
        client(dr, w1, 0x10, 1, [NOP, op_offer(f=0x40, checksum=b"\0\0\0\0")]),
        client(dr, w1, 0x10, 1, [NOP, op_offer(f=0x20, size=4000)]),
        client(dr, w1, 0x10, 1, [NOP, op_offer(f=0x20, size=1030)]),
        client(dr, w1, 0x10, 0, [NOP, op_offer()]),
        client(dr, w1, 0x10, 0, [NOP]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x05" + field("NOT_FOUND")]),
        client(dr, w4 | 0x20, 0x10, 1, [NOP, op_offer(), NOP, b"\x05" + field("FAILURE")]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x05" + field("PAYLOAD_TOO_LARGE")]),
        client(dr, w1, 0x10, 1, [NOP, b"\x05" + field("NOT_FOUND")]),
        client(dr, w4 | 0x20, 0x10, 1, [NOP, op_offer(image_len=9000), SERVE, SERVE, b"\x08", NOP, NOP]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(image_len=9000), SERVE, SERVE, SERVE, b"\x0c", NOP]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(image_len=9000), SERVE, SERVE, b"\x0b\x00\x21\x00", b"\x0c"]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(image_len=9000), SERVE, b"\x0b\x10\x10\x00", b"\x0c"]),
        client(dr, w4 | 0x20, 0x10, 1, [NOP, op_offer(), SERVE, b"\x0a\x01", SERVE, NOP]),
        client(dr, w4 | 0x20, 0x10, 1, [NOP, op_offer(), SERVE, b"\x0a\x02", SERVE, NOP]),
        client(dr, w4 | 0x20, 0x10, 1, [NOP, op_offer(), b"\x0a\x00", SERVE, NOP]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x01\x00\x05\x00\x40"]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x02\x00\x10\x00"]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x03\x00\x08" + b"\xaa" * 8]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x04\x00" + field(b"\x01\x02\x03")]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x05\x00\x01\x01"]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), NOP, b"\x02\x06\x00", b"\x02\x86\x00"]),
        client(dr, w1, 0x10, 1, [NOP, b"\x01" + field("{}")]),
        client(dr, w1, 0x10, 1, [NOP, b"\x01" + field('{"shared":{"fw_title":"t","fw_version":"v1.5.0"}}')]),
        client(dr, w1, 0x10, 1, [NOP, b"\x01" + field('{"shared":{"fw_title":"t"')]),
        client(dr, w1, 0x10, 1, [NOP, b"\x04" + field("v2/fw/response/1/chunk/0") + field("x")]),
        client(dr, w1, 0x10, 1, [NOP, b"\x06\xff", b"\x07\xff\xff", NOP]),
        client(dr, w1 | 0x40, 0x10, 1, [b"\x09\x01\x02", NOP, b"\x09\x00\x00", NOP]),
        client(dr, w1, 0x10, 1, [NOP, b"\x0d\x01", NOP, b"\x0d\x00"]),
        client(dr, w1, 0x10, 1, [NOP, op_offer(), b"\x0e", NOP]),
        client(dr, w1, 0x10, 1, [NOP, op_offer(image_len=0x8000 + 200)]),
        client(dr, w4, 0x10, 1, [NOP, op_offer(), SERVE, SERVE, SERVE, SERVE, SERVE, SERVE, b"\x0c"]),
        client(dr, w1, 0x10, 1, [NOP, op_offer()], now=0xFF),
    ]
    return seeds


def bootreq(addr, size, icrc, title, version):
    b = struct.pack("<IHHIII", 0x51524243, 1, 0xFFFF, addr, size, icrc)
    b += title.encode().ljust(33, b"\0") + version.encode().ljust(33, b"\0") + b"\xff\xff"
    return b + struct.pack("<I", crc(b))


def record_seeds():
    good = bootreq(0x2000, 55512, 0x12345678, "s31-nb", "v1.6.0")
    out = [
        good,
        bootreq(0, 1, 0, "", ""),
        bootreq(0x2000, 100, 0, "t" * 32, "v" * 32),
        b"\xff" * 92,
        b"\x00" * 92,
        good[:50] + b"\xff" * 42,
        good[:88] + b"\0\0\0\0",
        good + b"\xff" * 300,
        good + b"\x00" * 300,
    ]
    bad_magic = bytearray(good[:88])
    bad_magic[0] ^= 1
    out.append(bytes(bad_magic) + struct.pack("<I", crc(bytes(bad_magic))))
    tail = bytearray(good[:88])
    tail[20 + 7] = ord("x")  # a byte after the title's NUL
    out.append(bytes(tail) + struct.pack("<I", crc(bytes(tail))))
    return out


def at_seeds():
    def line(s):
        return b"\x00" + field(s)

    def cmd(i, v):
        return b"\x01" + bytes([i]) + field(v)

    def dl(b, cap=120):
        return b"\x02" + field(b) + bytes([cap])

    def cfg(s):
        return b"\x03" + field(s)

    seeds = [
        b"\x00" + line("AT+OTASER=thingseye.io,1885") + line("AT+OTASER?"),
        b"\x00" + line("AT+OTACLT=tok") + line("AT+OTACLT?") + line("AT+OTACLT=?"),
        b"\x00" + line("AT+OTAUNAME=A1b2C3d4") + line("at+otauname?"),
        b"\x00" + line("AT+OTAPWD=s3cret") + line("AT+OTAPWD?") + line("AT+OTAPWD=NULL") + line("AT+OTAPWD?"),
        b"\x00" + line("AT+OTATITLE=s31-nb") + line("AT+OTAVER=v1.5.0") + line("AT+OTAVER?"),
        b"\x00" + line("AT+UPGRADE") + line("AT+UPGRADE?") + b"\x06",
        b"\x00" + line("AT") + line("") + line("   \r\n") + line("AT+FOO=1") + line("AT+OTASER"),
        b"\x00" + line("AT+OTASER=thingseye.io,70000") + line("AT+OTASER=,1885") + line("AT+OTASER=h,"),
        b"\x00" + line("AT+OTASER= [::1] , 1883 ") + line("AT+OTASER=a b,1"),
        b"\x00" + line("AT+OTATITLE=" + "t" * 33) + line("AT+OTATITLE=a;b") + line('AT+OTAVER="x"'),
        b"\x01" + line("AT+OTATITLE=x") + b"\x04\x00" + line("AT+OTATITLE=x"),
        b"\x00" + b"\x05\x01" + line("AT+OTACLT=new") + b"\x05\x00" + line("AT+OTACLT=new"),
        b"\x00" + cmd(0, "h.example,1") + cmd(3, "NULL") + cmd(6, "") + cmd(8, ""),
        b"\x00" + cfg("AT+OTASER=thingseye.io,1885;AT+OTACLT=tok;AT+OTAUNAME=tok;AT+OTAPWD=NULL;"
                      "AT+OTATITLE=s31-nb;AT+OTAVER=v1.5.0;AT+UPGRADE"),
        b"\x00" + cfg("AT+UPGRADE;AT+OTACLT=x") + cfg(";;AT;;") + cfg("AT+OTASER?"),
        b"\x00" + cfg("AT+OTATITLE=a;AT+OTATITLE=" + "b" * 40),
        b"\x00" + dl(b"\xf9\x01") + dl(b"\xf9\x02") + dl(b"\xf9") + dl(b"\xf9\x01\x00") + dl(b"\x01\x02"),
        b"\x00" + dl(b'{"Config":"[AT+OTACLT=abc]"}') + dl(b'{"Config":"AT+OTACLT=abc"}'),
        b"\x00" + dl(b'{"Config":5}') + dl(b'{"other":1}') + dl(b"{") + dl(b"", 0),
        b"\x00" + dl(b'{"Config":"[AT+OTACLT=\\u0061bc]"}', 1),
        b"\x00" + b"\x07" + field("s31-nb") + field("v1.6.0") + b"\x00\x01\x07",
        b"\x00" + b"\x07" + field('q"\\\x01\xff\xc3\xa9') + field("\xe2\x82") + b"\x10\x00\x03",
        b"\x00" + b"\x08\x01\x00" + b"\x86\x01\x00",
    ]
    return seeds


def engine_seeds():
    def feed(b):
        # the data, then one piece size per 64 bytes (0x3f: 64-byte pieces)
        return b"\x00" + struct.pack("<H", len(b)) + b + b"\x3f" * (len(b) // 64 + 1)

    def start(cmd, mode=0, data=b"", tail=0, timeout=5000):
        return (b"\x01" + bytes([mode, len(cmd)]) + cmd + struct.pack("<H", len(data)) + data
                + struct.pack("<H", timeout) + bytes([tail]))

    def field_mode(mode, n):
        return b"\x05" + bytes([mode, 0]) + struct.pack("<H", n)

    pump = b"\x02\x0a"
    recv = b'+QMTRECV: 0,1,"v2/fw/response/1/chunk/0",4,"ab\r\n"\r\n'
    seeds = [
        b"\x00" + start(b"AT") + pump + feed(b"AT\r\r\nOK\r\n"),
        b"\x00" + start(b"AT+CSQ") + pump + feed(b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"),
        b"\x00" + start(b"AT+X") + pump + feed(b"\r\nERROR\r\n"),
        b"\x00" + start(b"AT+X") + pump + feed(b"\r\n+CME ERROR: 58\r\n"),
        b"\x00" + start(b"AT+X") + pump + feed(b"\r\n+CMS ERROR: 500\r\n"),
        b"\x00" + start(b'AT+QMTPUBEX=0,1,1,0,"t",4', 1, b"abcd", 0) + pump + feed(b"> ") + pump
        + feed(b"\r\nOK\r\n\r\n+QMTPUBEX: 0,1,0\r\n"),
        b"\x01" + start(b'AT+QMTPUB=0,1,1,0,"t",4', 1, b"abcd", 0) + pump + feed(b"\r\n>")
        + b"\x02\xff" + feed(b"\r\nSEND FAIL\r\n"),
        b"\x00" + start(b'AT+QMTPUB=0,1,1,0,"t",4,"', 2, b"\x00\x01\xfe\xff", 3) + pump
        + feed(b"\r\nOK\r\n"),
        b"\x00" + field_mode(1, 4) + feed(recv),
        b"\x00" + field_mode(1, 0) + feed(b'+QMTRECV: 0,1,"t",0,""\r\n'),
        b"\x00" + field_mode(1, 3) + feed(b'+QMTRECV: 0,1,"t",3,"\r\n"\r\n'),
        b"\x00" + field_mode(1, 2000) + feed(b'+QMTRECV: 0,1,"t",2000,"' + b"x" * 300),
        b"\x00" + field_mode(2, 0) + feed(b'+QMTRECV: 0,1,"t",4,"61626364"\r\n'),
        b"\x00" + field_mode(2, 0) + feed(b'+QMTRECV: 0,1,"t",8,"6162636"\r\n'),
        b"\x00" + field_mode(2, 0) + feed(b'+QMTRECV: 0,1,"t",2,"zz"\r\n'),
        b"\x00" + feed(b"RDY\r\n\r\nAPP RDY\r\n+CEREG: 1\r\n+QMTSTAT: 0,1\r\n"),
        b"\x00" + feed(b"x" * 200 + b"\r\nOK\r\n"),
        b"\x00" + feed(b"\x00\x00 \r\n\n\r AT echo\r\n>\r\n"),
        b"\x00" + start(b"AT") + b"\x03\x00" + pump + b"\x03\x01" + pump + b"\x02\xff\x02\xff",
        b"\x00" + start(b"AT") + b"\x04\x01" + start(b"AT") + b"\x04\x00",
        b"\x01" + start(b"AT+X", 1, b"d", 1) + pump + feed(b">") + b"\x02\x0a\x02\x0a",
    ]
    return seeds


def quectel_seeds():
    # ops: 0 canned k,a,b,c(u16) | 1 raw field | 2 transport op | 3 modem op
    #      4 time u16 | 5 piece | 6 write mode | 7 poll n
    def canned(k, a=0, b=0, c=0, extra=b""):
        return b"\x00" + bytes([k, a, b]) + struct.pack("<H", c) + extra

    def raw(s):
        return b"\x01" + field(s)

    def modem(op, cap=16):
        return b"\x03" + bytes([cap, op])

    connect = b"\x02\x00"
    poll = b"\x07\x04"
    ok = canned(0)
    boot_bg = [canned(3), poll, ok, poll, ok, poll, canned(14), poll, canned(16, 0, 0, 1234), poll]
    seeds = [
        b"\x00\x00" + connect + b"".join(boot_bg) + ok * 6 + canned(10, 0, 1) + poll + ok
        + canned(5) + poll + canned(6) + poll + ok + canned(7, 0, 0, 1),
        b"\x02\x00" + connect + canned(4) + poll + ok + poll + canned(15) + poll + ok * 8,
        # k = 42 / 43: +QMTRECV with a raw / hex payload whose length field is right
        b"\x01\x00" + connect + poll + ok * 10 + canned(42, 0, 1, 3, field(b"abcd")),
        b"\x02\x00" + connect + poll + ok * 10 + canned(43, 0, 1, 3, field(b"\x00\x01\xff")),
        b"\x01\x00" + connect + poll + ok * 10 + canned(42, 0, 1, 3, field(b'"x\r\nOK"')),
        b"\x01\x00" + connect + poll + ok * 10 + canned(18, 0, 1, 3, field(b"abcd") + b"\x09"),
        b"\x00\x00" + connect + poll + canned(9, 0, 1) + poll + canned(9, 0, 5) + poll,
        b"\x00\x00" + connect + poll + canned(1) + poll + canned(2, 0, 0, 58) + poll,
        b"\x00\x00" + connect + poll + canned(13) + poll + ok + poll + canned(8, 0, 0, 1),
        b"\x00\x00" + connect + poll + canned(17, 0, 1) + poll + canned(20, 0, 1, 7),
        b"\x00\x00" + modem(0) + poll + canned(3) + poll + ok * 4 + modem(4, 16) + modem(4, 3) + modem(5),
        b"\x00\x00" + modem(2) + poll + ok + modem(3) + poll + ok + modem(1) + poll + canned(23),
        b"\x00\x00" + connect + b"\x02\x01\x01" + b"\x02\x02\x04\x00abcd\x01\x02\x01" + b"\x02\x03" + poll,
        b"\x00\x00" + connect + b"\x06\x01" + poll + b"\x06\x02" + poll + b"\x06\x03" + poll,
        b"\x00\x00" + connect + b"\x05\x01" + raw(b"\r\nRDY\r\n\r\nOK\r\n") + poll + b"\x04\xff\xff" + poll,
        b"\x00\x00" + connect + raw(b"+QMTRECV: 0,1,\"t\",5,\"hello\"\r\n") + poll,
        b"\x00\x00" + connect + canned(21) + canned(22) + poll + canned(12, 0, 0, 31) + poll,
        b"\x0c\x00" + connect + b"".join(boot_bg) + b"\x04\x30\x75" + poll * 4,
        b"\x00\x00" + raw(b"x" * 200) + raw(b"\r\n") + poll,
    ]
    return seeds


def tb_decide_seeds():
    out = []
    for i, a in enumerate(ATTRS):
        dev = 0 if i % 5 else (i // 5) % 25
        out.append(bytes([dev, 127]) + a.encode("utf-8", "surrogatepass"))
    out.append(bytes([0, 0]) + offer().encode())
    out.append(bytes([0, 10]) + offer(title="x" * 40).encode())
    return out


def main():
    write("fuzz_json", ATTRS + JSON_EXTRA)
    write("fuzz_topics", TOPICS)
    write("fuzz_tb_decide", tb_decide_seeds())
    write("fuzz_pkg", pkg_seeds())
    write("fuzz_client", client_seeds())
    write("fuzz_records", record_seeds())
    write("fuzz_ota_at", at_seeds())
    write("fuzz_at_engine", engine_seeds())
    write("fuzz_quectel", quectel_seeds())


if __name__ == "__main__":
    main()
