"""Write the issuer's RSA signing keys (JWKS) as PEM public keys for httpd.

Usage: jwks-to-pem.py JWKS_URL OUT_DIR
Prints one "kid#path" per key, the form OIDCOAuthVerifyCertFiles takes.
"""
import base64
import json
import os
import sys
import urllib.request


def der(tag, body):
    n = len(body)
    if n < 0x80:
        head = bytes([n])
    else:
        size = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x80 | len(size)]) + size
    return bytes([tag]) + head + body


def integer(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return der(0x02, raw)


def b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def spki_pem(jwk):
    public_key = der(0x30, integer(b64url_int(jwk["n"])) + integer(b64url_int(jwk["e"])))
    rsa_encryption = der(0x06, bytes.fromhex("2a864886f70d010101")) + der(0x05, b"")
    spki = der(0x30, der(0x30, rsa_encryption) + der(0x03, b"\0" + public_key))
    b64 = base64.b64encode(spki).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def main():
    jwks = json.load(urllib.request.urlopen(sys.argv[1], timeout=10))
    for i, jwk in enumerate(k for k in jwks["keys"] if k.get("kty") == "RSA"):
        kid = jwk.get("kid", "key%d" % i)
        path = os.path.join(sys.argv[2], "issuer-%d.pem" % i)
        with open(path, "w") as out:
            out.write(spki_pem(jwk))
        print("%s#%s" % (kid, path))


if __name__ == "__main__":
    main()
