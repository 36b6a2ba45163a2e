// The public page's script. The page works without it; with it:
// - live: the server-sent event stream at /live says when anything changed; the page fetches
//   itself again and swaps its [data-live] parts (rendered and escaped by the server);
// - countdowns: every time[data-end] says the time left, each minute;
// - the vote panel: where a NIP-07 signer (window.nostr) exists, build, sign and send a zap
//   request to the gov bot's LNURL provider, show the invoice, and pay with WebLN if present;
//   with "seal my choice", the zap comment is a sealed ballot made here (ballot.js) instead of
//   the keyword, and the proposal itself is zapped (a zap poll's option would outrank it);
// - "Vote secretly": a sealed ballot token made here (ballot.js) for an npub typed in or taken
//   from the signer, to paste as a zap comment. Nothing with the choice is sent anywhere.
(function () {
  "use strict";
  document.documentElement.dataset.js = "on";

  // --- live updates ---------------------------------------------------------------------------
  var busy = false;
  var again = false;

  function swap(html) {
    var next = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (el) {
      var fresh = next.getElementById(el.id);
      if (!fresh) { return; }
      var wasOpen = el.querySelector("details[open]") !== null;
      fresh = document.adoptNode(fresh);
      if (wasOpen) {
        var details = fresh.querySelector("details");
        if (details) { details.open = true; }
      }
      el.replaceWith(fresh);
    });
    if (next.body && next.body.dataset.version) {
      document.body.dataset.version = next.body.dataset.version;
    }
    tick();
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.pathname + location.search, { cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { swap(html); } })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (window.EventSource) {
    var stream = new EventSource("/live");
    stream.addEventListener("change", function (event) {
      if (event.data !== document.body.dataset.version) { refresh(); }
    });
  }

  // --- countdowns (the same words as the server's) ----------------------------------------------
  function span(secs) {
    var d = Math.floor(secs / 86400), h = Math.floor(secs % 86400 / 3600), m = Math.floor(secs % 3600 / 60);
    if (d > 0) { return d + " d " + h + " h"; }
    if (h > 0) { return h + " h " + m + " min"; }
    if (m > 0) { return m + " min"; }
    return secs + " s";
  }

  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll("time[data-end]").forEach(function (el) {
      var end = parseInt(el.dataset.end, 10);
      if (isNaN(end)) { return; }
      el.textContent = now <= end ? span(end - now) + " left" : "closed " + span(now - end) + " ago";
    });
  }
  setInterval(tick, 30000);

  // --- the vote panel -----------------------------------------------------------------------
  var OPTIONS = { support: "0", veto: "1", abstain: "2" };

  function setStatus(panel, text) {
    var status = panel.querySelector(".status");
    if (status) { status.textContent = text; }
  }

  function getJson(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok || body.status === "ERROR") {
          throw new Error(body.reason || body.error || ("HTTP " + r.status));
        }
        return body;
      });
    });
  }

  function ballotKeys(el) { return (el.dataset.ballotKeys || "").split(" ").filter(Boolean); }

  // The zap comment: the keyword, or a sealed ballot for the signer's key when asked.
  function voteComment(panel, choice, sealed) {
    if (!sealed) { return Promise.resolve(choice); }
    setStatus(panel, "Sealing your choice…");
    return window.nostr.getPublicKey().then(function (pubkey) {
      return window.commonsBallot.seal(choice, panel.dataset.proposal, pubkey, ballotKeys(panel));
    });
  }

  function vote(panel, form) {
    var choice = form.elements.vote.value || "support";
    var sealed = !!(form.elements.seal && form.elements.seal.checked);
    var sats = parseInt(form.elements.sats.value, 10);
    if (!(sats > 0)) { setStatus(panel, "Give an amount in sats."); return; }
    var msat = sats * 1000;
    var relays = (panel.dataset.relays || "").split(" ").filter(Boolean);
    setStatus(panel, "Asking the bot's lightning address…");
    getJson(panel.dataset.lnurlp).then(function (pay) {
      if (!pay.allowsNostr || !pay.callback) { throw new Error("this lightning address does not take zaps"); }
      if (msat < pay.minSendable || msat > pay.maxSendable) {
        throw new Error("the amount must be " + pay.minSendable / 1000 + " to " + pay.maxSendable / 1000 + " sats");
      }
      return voteComment(panel, choice, sealed).then(function (content) { return { pay: pay, content: content }; });
    }).then(function (made) {
      var pay = made.pay;
      var tags = [["p", panel.dataset.gov], ["amount", String(msat)], ["relays"].concat(relays)];
      if (panel.dataset.poll && !sealed) {
        tags.push(["e", panel.dataset.poll], ["a", panel.dataset.address], ["k", "6969"],
          ["poll_option", OPTIONS[choice]]);
      } else {
        tags.push(["e", panel.dataset.proposal], ["a", panel.dataset.address], ["k", "30078"]);
      }
      var request = { kind: 9734, created_at: Math.floor(Date.now() / 1000), tags: tags, content: made.content };
      setStatus(panel, "Sign the zap request in your signer…");
      return window.nostr.signEvent(request).then(function (signed) {
        var url = new URL(pay.callback);
        url.searchParams.set("amount", String(msat));
        url.searchParams.set("nostr", JSON.stringify(signed));
        setStatus(panel, "Asking for the invoice…");
        return getJson(url.toString());
      });
    }).then(function (answer) {
      var invoice = panel.querySelector(".invoice");
      var uri = "lightning:" + answer.pr;
      invoice.querySelector(".qr").src = "/qr.svg?data=" + encodeURIComponent(uri);
      invoice.querySelector(".pay").href = uri;
      invoice.querySelector(".bolt11").textContent = answer.pr;
      invoice.hidden = false;
      setStatus(panel, "Pay the invoice: your vote shows here once its receipt reaches the relays.");
      if (window.webln) {
        return window.webln.enable()
          .then(function () { return window.webln.sendPayment(answer.pr); })
          .then(function () { setStatus(panel, "Paid with your wallet: your vote shows here in a moment."); })
          .catch(function () { /* paying by QR code or link still works */ });
      }
    }).catch(function (err) {
      setStatus(panel, "Could not vote: " + (err && err.message ? err.message : String(err)));
    });
  }

  function setUpPanel() {
    setUpSealed();
    var panel = document.getElementById("vote");
    if (!panel || !window.nostr || !panel.dataset.lnurlp || panel.dataset.ready) { return; }
    var form = panel.querySelector("form.signer");
    if (!form) { return; }
    panel.dataset.ready = "1";
    form.hidden = false;
    var seal = form.querySelector(".seal");
    if (seal && window.commonsBallot && ballotKeys(panel).length) { seal.hidden = false; }
    var hint = panel.querySelector(".no-signer");
    if (hint) { hint.hidden = true; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      vote(panel, form);
    });
  }

  // --- vote secretly ----------------------------------------------------------------------------
  function setUpSealed() {
    var section = document.getElementById("sealed");
    if (!section || !window.commonsBallot) { return; }
    var form = section.querySelector("form.ballot");
    if (!form) { return; }
    var fromSigner = form.querySelector("button.from-signer");
    if (fromSigner && window.nostr) { fromSigner.hidden = false; }
    if (section.dataset.ready) { return; }
    section.dataset.ready = "1";
    form.hidden = false;
    var hint = section.querySelector(".no-script");
    if (hint) { hint.hidden = true; }
    var output = section.querySelector(".token");
    if (fromSigner) {
      fromSigner.addEventListener("click", function () {
        window.nostr.getPublicKey().then(function (hex) {
          form.elements.voter.value = window.commonsBallot.bech32.encode("npub", hex);
        }).catch(function (err) { setStatus(section, "The signer gave no key: " + (err && err.message ? err.message : err)); });
      });
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      output.hidden = true;
      setStatus(section, "Sealing your choice in this browser…");
      window.commonsBallot.seal(form.elements.vote.value || "support", section.dataset.proposal,
        form.elements.voter.value, ballotKeys(section))
        .then(function (token) {
          output.querySelector("code").textContent = token;
          output.hidden = false;
          setStatus(section, "Your sealed ballot is below: paste it as the comment of your zap, from that npub.");
        })
        .catch(function (err) {
          setStatus(section, "Could not seal: " + (err && err.message ? err.message : String(err)));
        });
    });
  }

  // NIP-07 extensions inject window.nostr at load time, some a moment later.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUpPanel(); tick(); });
  } else {
    setUpPanel();
    tick();
  }
  window.addEventListener("load", setUpPanel, { once: true });
  // Some signers inject window.nostr a while after the page loaded: look again for 10 s.
  var looks = 0;
  var look = setInterval(function () {
    setUpPanel();
    looks += 1;
    var panel = document.getElementById("vote");
    if (looks >= 20 || !panel || panel.dataset.ready) { clearInterval(look); }
  }, 500);
})();
