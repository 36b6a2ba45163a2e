// Sealed ballot tokens made in the browser (DESIGN.md "Sealed ballots"), with WebCrypto only:
// no script library, nothing sent anywhere. The choice never leaves this script except as the
// token, which the voter pastes into a zap comment themselves.
//
// A token seals one byte (0 support, 1 veto, 2 abstain) for a proposal P and a sender S (the
// zap request's pubkey): m_0 = [type]; for each pinned ballot key in order,
// m_i = enc_i || ct_i with (enc_i, ct_i) = HPKE.SealBase(key_i, info = "commons-nostr ballot",
// aad = P (32 bytes) || S (32 bytes), pt = m_(i-1)); the token is bech32 (BIP-173 checksum,
// hrp "ballot", no length limit) of 0x01 || m_k.
//
// HPKE is RFC 9180 base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-128-GCM:
// X25519 is WebCrypto's deriveBits, HKDF's Extract and Expand are HMAC-SHA256 (WebCrypto's own
// HKDF cannot expand without extracting, and HPKE labels each step), AES-128-GCM is
// WebCrypto's. bech32 is an encoding, written here.
//
// window.commonsBallot is the interface: `seal` for the page, and the steps (`hpke`, `bech32`)
// for the test that checks them against RFC 9180's published vectors. Every step can take a
// fixed ephemeral secret so the vectors can be reproduced; without one, a fresh random one is
// drawn per layer.
(function () {
  "use strict";

  var subtle = window.crypto && window.crypto.subtle;
  var utf8 = new TextEncoder();

  // --- bytes -----------------------------------------------------------------------------------
  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i += 1) { total += arguments[i].length; }
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i += 1) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }

  function i2osp(n, width) {
    var out = new Uint8Array(width);
    for (var i = width - 1; i >= 0; i -= 1) { out[i] = n & 0xff; n = Math.floor(n / 256); }
    return out;
  }

  function fromHex(hex) {
    if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
      throw new Error("not hex: " + hex);
    }
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i += 1) { out[i] = parseInt(hex.substr(i * 2, 2), 16); }
    return out;
  }

  function toHex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  // --- HKDF-SHA256 through HMAC, and HPKE's labelled steps (RFC 9180 section 4) -----------------
  var HASH_LEN = 32;

  function hmac(key, data) {
    // HKDF-Extract with no salt uses HashLen zero bytes (RFC 5869), the same HMAC key as an
    // empty one; WebCrypto refuses an empty HMAC key.
    var raw = key.length ? key : new Uint8Array(HASH_LEN);
    return subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (k) { return subtle.sign("HMAC", k, data); })
      .then(function (mac) { return new Uint8Array(mac); });
  }

  var HPKE_V1 = utf8.encode("HPKE-v1");
  var KEM_ID = 0x0020, KDF_ID = 0x0001, AEAD_ID = 0x0001;
  var KEM_SUITE = concat(utf8.encode("KEM"), i2osp(KEM_ID, 2));
  var HPKE_SUITE = concat(utf8.encode("HPKE"), i2osp(KEM_ID, 2), i2osp(KDF_ID, 2), i2osp(AEAD_ID, 2));
  var NK = 16, NN = 12, NSECRET = 32, NSK = 32;

  function labeledExtract(suite, salt, label, ikm) {
    return hmac(salt, concat(HPKE_V1, suite, utf8.encode(label), ikm));
  }

  // Every length HPKE asks of this suite is at most one hash: Expand is its first block.
  function labeledExpand(suite, prk, label, info, length) {
    if (length > HASH_LEN) { return Promise.reject(new Error("HKDF-Expand longer than one block")); }
    var labeled = concat(i2osp(length, 2), HPKE_V1, suite, utf8.encode(label), info);
    return hmac(prk, concat(labeled, new Uint8Array([1]))).then(function (t) { return t.slice(0, length); });
  }

  // --- X25519 (RFC 7748) through WebCrypto -----------------------------------------------------
  // A raw 32-byte private key, as PKCS #8 (RFC 8410): WebCrypto imports X25519 secrets no other way.
  var PKCS8_X25519 = fromHex("302e020100300506032b656e04220420");
  var BASE_POINT = concat(new Uint8Array([9]), new Uint8Array(31));

  function importSecret(sk) {
    return subtle.importKey("pkcs8", concat(PKCS8_X25519, sk), { name: "X25519" }, false, ["deriveBits"]);
  }

  // X25519(sk, pk); WebCrypto refuses an all-zero result (a small-order key), as RFC 9180 asks.
  function dh(sk, pk) {
    return Promise.all([importSecret(sk), subtle.importKey("raw", pk, { name: "X25519" }, true, [])])
      .then(function (keys) { return subtle.deriveBits({ name: "X25519", public: keys[1] }, keys[0], 256); })
      .then(function (bits) { return new Uint8Array(bits); });
  }

  // The public key of a secret: X25519(sk, 9).
  function publicKey(sk) { return dh(sk, BASE_POINT); }

  // DeriveKeyPair(ikm) of DHKEM(X25519, HKDF-SHA256) (RFC 9180 section 7.1.3).
  function deriveKeyPair(ikm) {
    return labeledExtract(KEM_SUITE, new Uint8Array(0), "dkp_prk", ikm)
      .then(function (prk) { return labeledExpand(KEM_SUITE, prk, "sk", new Uint8Array(0), NSK); })
      .then(function (sk) { return publicKey(sk).then(function (pk) { return { sk: sk, pk: pk }; }); });
  }

  function randomSecret() { return window.crypto.getRandomValues(new Uint8Array(NSK)); }

  // Encap(pkR) with the ephemeral secret skE: { enc, sharedSecret } (RFC 9180 section 4.1).
  function encap(pkR, skE) {
    return Promise.all([publicKey(skE), dh(skE, pkR)]).then(function (both) {
      var enc = both[0], kemContext = concat(enc, pkR);
      return labeledExtract(KEM_SUITE, new Uint8Array(0), "eae_prk", both[1])
        .then(function (prk) { return labeledExpand(KEM_SUITE, prk, "shared_secret", kemContext, NSECRET); })
        .then(function (sharedSecret) { return { enc: enc, sharedSecret: sharedSecret }; });
    });
  }

  // KeySchedule in base mode (no PSK): the context's key, base nonce and exporter secret.
  function keySchedule(sharedSecret, info) {
    var none = new Uint8Array(0);
    return Promise.all([
      labeledExtract(HPKE_SUITE, none, "psk_id_hash", none),
      labeledExtract(HPKE_SUITE, none, "info_hash", info),
      labeledExtract(HPKE_SUITE, sharedSecret, "secret", none)
    ]).then(function (parts) {
      var context = concat(new Uint8Array([0]), parts[0], parts[1]), secret = parts[2];
      return Promise.all([
        labeledExpand(HPKE_SUITE, secret, "key", context, NK),
        labeledExpand(HPKE_SUITE, secret, "base_nonce", context, NN),
        labeledExpand(HPKE_SUITE, secret, "exp", context, HASH_LEN)
      ]).then(function (out) {
        return { keyScheduleContext: context, secret: secret, key: out[0], baseNonce: out[1], exporterSecret: out[2] };
      });
    });
  }

  // AES-128-GCM with a 16-byte tag; the first message of a context uses the base nonce itself.
  function aeadSeal(key, nonce, aad, pt) {
    return subtle.importKey("raw", key, { name: "AES-GCM" }, false, ["encrypt"])
      .then(function (k) { return subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: aad, tagLength: 128 }, k, pt); })
      .then(function (ct) { return new Uint8Array(ct); });
  }

  // SealBase(pkR, info, aad, pt) with the ephemeral secret skE (random when absent): every
  // intermediate value, for the vectors, and { enc, ct }.
  function sealBase(pkR, info, aad, pt, skE) {
    return encap(pkR, skE || randomSecret()).then(function (kem) {
      return keySchedule(kem.sharedSecret, info).then(function (ks) {
        return aeadSeal(ks.key, ks.baseNonce, aad, pt).then(function (ct) {
          ks.enc = kem.enc;
          ks.sharedSecret = kem.sharedSecret;
          ks.ct = ct;
          return ks;
        });
      });
    });
  }

  // --- bech32 (BIP-173 checksum; no length limit, as DESIGN.md's tokens need) --------------------
  var CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  var GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

  function polymod(values) {
    var chk = 1;
    for (var i = 0; i < values.length; i += 1) {
      var top = chk >>> 25;
      chk = ((chk & 0x1ffffff) << 5) ^ values[i];
      for (var j = 0; j < 5; j += 1) { if ((top >>> j) & 1) { chk ^= GENERATOR[j]; } }
    }
    return chk >>> 0;
  }

  function hrpExpand(hrp) {
    var out = [], i;
    for (i = 0; i < hrp.length; i += 1) { out.push(hrp.charCodeAt(i) >> 5); }
    out.push(0);
    for (i = 0; i < hrp.length; i += 1) { out.push(hrp.charCodeAt(i) & 31); }
    return out;
  }

  function convertBits(data, from, to, pad) {
    var acc = 0, bits = 0, out = [], maxv = (1 << to) - 1;
    for (var i = 0; i < data.length; i += 1) {
      acc = (acc << from) | data[i];
      bits += from;
      while (bits >= to) { bits -= to; out.push((acc >> bits) & maxv); }
      acc &= (1 << bits) - 1;
    }
    if (pad) {
      if (bits > 0) { out.push((acc << (to - bits)) & maxv); }
    } else if (bits >= from || ((acc << (to - bits)) & maxv)) {
      throw new Error("bech32: bad padding");
    }
    return out;
  }

  function bech32Encode(hrp, bytes) {
    var data = convertBits(bytes, 8, 5, true);
    var mod = polymod(hrpExpand(hrp).concat(data, [0, 0, 0, 0, 0, 0])) ^ 1;
    var out = hrp + "1";
    for (var i = 0; i < data.length; i += 1) { out += CHARSET.charAt(data[i]); }
    for (var p = 0; p < 6; p += 1) { out += CHARSET.charAt((mod >>> (5 * (5 - p))) & 31); }
    return out;
  }

  // { hrp, bytes } of a bech32 string (one case throughout), or an Error thrown.
  function bech32Decode(text) {
    if (text !== text.toLowerCase() && text !== text.toUpperCase()) { throw new Error("bech32: mixed case"); }
    var s = text.toLowerCase(), sep = s.lastIndexOf("1");
    if (sep < 1 || sep + 7 > s.length) { throw new Error("bech32: no separator or checksum"); }
    var hrp = s.slice(0, sep), data = [];
    for (var i = sep + 1; i < s.length; i += 1) {
      var v = CHARSET.indexOf(s.charAt(i));
      if (v < 0) { throw new Error("bech32: bad character " + s.charAt(i)); }
      data.push(v);
    }
    if (polymod(hrpExpand(hrp).concat(data)) !== 1) { throw new Error("bech32: bad checksum"); }
    return { hrp: hrp, bytes: new Uint8Array(convertBits(data.slice(0, -6), 5, 8, false)) };
  }

  // --- the ballot token ------------------------------------------------------------------------
  var INFO = utf8.encode("commons-nostr ballot");
  var TOKEN_VERSION = 1;
  var TYPES = { support: 0, veto: 1, abstain: 2 };

  // A voter's public key from an npub or 64 hex characters: its 32 bytes, or an Error thrown.
  function voterKey(text) {
    var s = String(text || "").trim();
    if (/^[0-9a-fA-F]{64}$/.test(s)) { return fromHex(s); }
    var decoded = bech32Decode(s);
    if (decoded.hrp !== "npub" || decoded.bytes.length !== 32) { throw new Error("not an npub"); }
    return decoded.bytes;
  }

  // The token sealing `choice` ("support", "veto", "abstain") for the proposal (hex id) and the
  // voter (npub or hex), to the pinned ballot keys (hex, in the pinned order). `ephemeral`
  // (hex secrets, one per key) is for tests only: a token is made with fresh ones.
  function seal(choice, proposalHex, voter, keysHex, ephemeral) {
    return Promise.resolve().then(function () {
      if (!subtle) { throw new Error("this browser has no WebCrypto (a secure context is needed)"); }
      if (!Object.prototype.hasOwnProperty.call(TYPES, choice)) { throw new Error("no such vote type: " + choice); }
      var proposal = fromHex(proposalHex);
      if (proposal.length !== 32) { throw new Error("not a proposal id"); }
      var aad = concat(proposal, voterKey(voter));
      if (!keysHex || keysHex.length === 0) { throw new Error("this proposal pins no ballot key"); }
      var message = new Uint8Array([TYPES[choice]]);
      var layer = function (i) {
        if (i === keysHex.length) { return message; }
        var key = fromHex(keysHex[i]);
        if (key.length !== 32) { throw new Error("not an X25519 key: " + keysHex[i]); }
        var skE = ephemeral ? fromHex(ephemeral[i]) : undefined;
        return sealBase(key, INFO, aad, message, skE).then(function (sealed) {
          message = concat(sealed.enc, sealed.ct);
          return layer(i + 1);
        });
      };
      return layer(0);
    }).then(function (sealed) {
      return bech32Encode("ballot", concat(new Uint8Array([TOKEN_VERSION]), sealed));
    });
  }

  window.commonsBallot = {
    seal: seal,
    voterKey: function (text) { return toHex(voterKey(text)); },
    supported: function () {
      if (!subtle) { return Promise.resolve(false); }
      return subtle.generateKey({ name: "X25519" }, false, ["deriveBits"])
        .then(function () { return true; }, function () { return false; });
    },
    // The steps, on hex strings, for the RFC 9180 test vectors.
    hpke: {
      deriveKeyPair: function (ikm) {
        return deriveKeyPair(fromHex(ikm)).then(function (kp) { return { sk: toHex(kp.sk), pk: toHex(kp.pk) }; });
      },
      publicKey: function (sk) { return publicKey(fromHex(sk)).then(toHex); },
      sealBase: function (pkR, info, aad, pt, skE) {
        return sealBase(fromHex(pkR), fromHex(info), fromHex(aad), fromHex(pt), fromHex(skE)).then(function (out) {
          var hex = {};
          Object.keys(out).forEach(function (k) { hex[k] = toHex(out[k]); });
          return hex;
        });
      }
    },
    bech32: {
      encode: function (hrp, hex) { return bech32Encode(hrp, fromHex(hex)); },
      decode: function (text) { var d = bech32Decode(text); return { hrp: d.hrp, hex: toHex(d.bytes) }; }
    }
  };
})();
