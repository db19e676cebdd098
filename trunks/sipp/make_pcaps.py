"""Write the RTP captures the simulated carrier plays (committed beside this script):

- speech.pcap: a citizen's sentence (espeak-ng, Mandarin) as G.711 u-law RTP, PT 0, 20 ms
- dtmf_<key>.pcap: one RFC 4733 telephone-event per key (PT 101), 200 ms, three end packets

SIPp's play_pcap_audio replays the UDP payloads with their recorded timing, from its media
port to the far end's, so addresses and ports here are placeholders.

    python -m trunks.sipp.make_pcaps      # needs espeak-ng and sox (scripts/bootstrap.sh)
"""
from __future__ import annotations

import struct
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SENTENCE = "您好，我想问一下个人所得税怎么申报，谢谢。"
KEYS = "0123456789*#"
EVENTS = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}


def ulaw(sample: int) -> int:
    """G.711 u-law of one 16-bit sample."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = 7
    for exp in range(7, -1, -1):
        if sample & (0x80 << exp):
            exponent = exp
            break
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around one RTP packet (checksum 0: none, valid on IPv4)."""
    udp = struct.pack("!HHHH", 40000, 6000, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    csum = sum(struct.unpack("!10H", ip))
    csum = (csum & 0xFFFF) + (csum >> 16)
    ip = ip[:10] + struct.pack("!H", ~((csum & 0xFFFF) + (csum >> 16)) & 0xFFFF) + ip[12:]
    return b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip + udp


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> None:
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, rtp in packets:
        frame = _frame(rtp)
        sec = 1_700_000_000 + int(t)
        out.append(struct.pack("<IIII", sec, int(round((t % 1) * 1e6)), len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def rtp(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc) + payload


def speech_samples(text: str = SENTENCE) -> list[int]:
    with tempfile.TemporaryDirectory() as tmp:
        wav, raw = Path(tmp) / "s.wav", Path(tmp) / "s.raw"
        subprocess.run(["espeak-ng", "-v", "cmn", "-w", str(wav), text], check=True, capture_output=True)
        subprocess.run(["sox", str(wav), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                        str(raw), "gain", "-n", "-3"], check=True, capture_output=True)
        data = raw.read_bytes()
    return list(struct.unpack(f"<{len(data) // 2}h", data))


def speech_packets(samples: list[int], ssrc: int = 0x5EEC4) -> list[tuple[float, bytes]]:
    out = []
    for i in range(0, len(samples) - 159, 160):
        payload = bytes(ulaw(s) for s in samples[i:i + 160])
        out.append((i / 8000, rtp(0, 1000 + i // 160, 8000 + i, ssrc, payload, marker=i == 0)))
    return out


def dtmf_packets(key: str, ssrc: int = 0xD7F0, ms: int = 200, nth: int = 0) -> list[tuple[float, bytes]]:
    """RFC 4733: one event, its duration growing every 20 ms, then three end packets. An
    event is known by its timestamp: the `nth` key of a call gets its own timestamp and
    sequence numbers, or the far end takes a second key for a repeat of the first."""
    event, volume, ts, out = EVENTS[key], 10, 16000 * (nth + 1), []
    seq = 5000 + 20 * nth
    steps = ms // 20
    for n in range(1, steps + 1):
        out.append(((n - 1) * 0.02, rtp(101, seq + n, ts, ssrc, struct.pack("!BBH", event, volume, n * 160),
                                        marker=n == 1)))
    for k in range(3):   # the end packet, sent three times (same timestamp and duration)
        out.append(((steps + k) * 0.02, rtp(101, seq + steps + 1 + k, ts, ssrc,
                                            struct.pack("!BBH", event, 0x80 | volume, steps * 160))))
    return out


def main() -> None:
    write_pcap(HERE / "speech.pcap", speech_packets(speech_samples()))
    for key in KEYS:
        name = {"*": "star", "#": "pound"}.get(key, key)
        write_pcap(HERE / f"dtmf_{name}.pcap", dtmf_packets(key))
    print(f"wrote speech.pcap and {len(KEYS)} dtmf pcaps in {HERE}")


if __name__ == "__main__":
    main()
