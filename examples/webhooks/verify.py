import hashlib
import hmac
import time


def verify(payload: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    """True when `header` (Ikawaari-Signature) signs the raw request body."""
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    try:
        t = int(next(v for k, v in pairs if k == "t"))
    except (StopIteration, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False  # too old (or from the future): a replay
    signed = str(t).encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in pairs if k == "v1")
