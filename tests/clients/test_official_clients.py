"""The official client libraries, unchanged, against the server in mock mode.

- 2captcha-python's ``TwoCaptcha(key, server=HOST).balance()`` reads ``/res.php`` (plain text,
  no ``json=1``) and returns a float or raises ``ApiException("ERROR_…")``.
- anticaptchaofficial's ``get_balance()`` posts ``{"clientKey": …}`` to
  ``https://api.anti-captcha.com/getBalance`` (no setting changes the host) and returns the
  answer's ``balance``; a requests adapter mounted on that URL sends it to the server.
- CaptchaAI's own SDK (``captchaai``) has no balance method: its ``CaptchaAI(key,
  base_url=…)`` constructor checks the key is 32 characters, then POSTs the form ``key``,
  ``action=threadsinfo``, ``json=1`` to ``{base_url}/res.php`` (a wrong key raises
  ``InvalidKeyError``), and ``threads_info()`` asks again and returns ``{"threads": …,
  "working_threads": …}``. Its ``base_url`` may be ``http://``, so it needs no TLS in front.

With ``--token-env`` (``WithAToken``, a second server) the key a client sends must be the
server's token: passed where the client wants its key, both libraries read the balance
unchanged, and any other key gets the protocol's key error.

The first two hard-code ``https://``; the server speaks plain HTTP on loopback, so each test rewrites
the scheme of the client's request URL (and only that) on the way out, as a TLS terminator in
front of the server would. The server binary is started in mock mode on a free loopback port
(``--listen 127.0.0.1:0``; its banner says which); ``SERVER_BIN`` names it (the Makefile's
``test-clients`` sets it). Nothing is sent anywhere but 127.0.0.1.
"""

import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.request
from unittest import mock

import requests
from requests.adapters import HTTPAdapter

import captchaai
import twocaptcha.api
from captchaai.transport.sync_http import SyncTransport
from twocaptcha import TwoCaptcha
from twocaptcha.api import ApiException
from anticaptchaofficial import antinetworking
from anticaptchaofficial.imagecaptcha import imagecaptcha

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER_BIN = os.environ.get(
    "SERVER_BIN", os.path.join(ROOT, "target", "debug", "captchaai-balance-server")
)
# What a client puts in its request: the server ignores it and must never echo or log it.
CLIENT_KEY = "0123456789abcdef0123456789abcdef"
# Only the balance call is sent elsewhere (requests picks the adapter of the longest prefix), so a
# program's solving calls would still reach Anti-Captcha: README, "Using the official client
# libraries".
GET_BALANCE = "https://api.anti-captcha.com/getBalance"
# requests.get as the library has it, before any test patches it (a test may patch it twice).
REAL_GET = requests.get

server = None
base = None
log = None


# The server's token in `WithAToken` (what `openssl rand -hex 16` gives).
TOKEN = "c0ffee00c0ffee00c0ffee00c0ffee01"


def start_server(extra_args=(), extra_env=None):
    """The binary in mock mode on a free loopback port: (process, base URL, log file)."""
    env = {k: v for k, v in os.environ.items() if k != "CAPTCHAAI_API_KEY"}  # mock mode
    env["RUST_LOG"] = "trace"
    env.update(extra_env or {})
    out = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [SERVER_BIN, "--listen", "127.0.0.1:0", "--static-dir", "/nonexistent", *extra_args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while True:
        out.seek(0)
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", out.read())
        if found:
            return process, found.group(1), out
        if process.poll() is not None or time.monotonic() > deadline:
            out.seek(0)
            raise RuntimeError("the server did not start:\n" + out.read())
        time.sleep(0.05)


def setUpModule():
    global server, base, log
    # Loopback only, even where a proxy is configured.
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1"
    server, base, log = start_server()


def tearDownModule():
    server.terminate()
    server.wait(timeout=10)
    log.close()


def control(path, body=None, at=None, token=None):
    """The mock control API (`POST /mock/...`), which drops the cached reading."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(
        (at or base) + path,
        data=json.dumps(body or {}).encode(),
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class TlsTerminator(HTTPAdapter):
    """Sends the balance request to `target` (`http://…/getBalance`) instead."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.urls = []

    def send(self, request, **kwargs):
        assert request.url == GET_BALANCE, request.url
        request.url = self.target
        self.urls.append(request.url)
        return super().send(request, **kwargs)


class Clients:
    """The two clients pointed at a server (`server_base()`); `token`: the server's, if any."""

    token = None

    def server_base(self):
        return base

    def control(self, path, body=None):
        return control(path, body, at=self.server_base(), token=self.token)

    def setUp(self):
        self.control("/mock/reset")
        self.control("/mock/reset?account=staging")

    def twocaptcha(self, path="", key=CLIENT_KEY):
        """`TwoCaptcha` with `server` pointing at us; returns it and the (URL, query) it asked."""
        host = self.server_base()[len("http://"):] + path
        real_get = REAL_GET
        urls = []

        def get(url, **kwargs):
            self.assertTrue(url.startswith("https://" + host + "/"), url)
            url = "http://" + url[len("https://"):]
            urls.append((url, kwargs.get("params")))
            return real_get(url, **kwargs)

        patcher = mock.patch.object(twocaptcha.api.requests, "get", get)
        patcher.start()
        self.addCleanup(patcher.stop)
        return TwoCaptcha(key, server=host), urls

    def captchaai(self, path="", key=CLIENT_KEY):
        """CaptchaAI's SDK pointed at the server (``path``: ``/accounts/NAME`` for another
        account); its constructor asks ``threadsinfo`` already."""
        solver = captchaai.CaptchaAI(key, base_url=self.server_base() + path)
        self.addCleanup(solver.close)
        return solver

    def state(self, account="production"):
        """What the server says of an account (``GET /v1/accounts/NAME``)."""
        request = urllib.request.Request(self.server_base() + "/v1/accounts/" + account)
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def anticaptcha(self, prefix="/", key=CLIENT_KEY):
        """An anticaptchaofficial solver whose requests reach `{base}{prefix}`."""
        adapter = TlsTerminator(self.server_base() + prefix + "getBalance")
        antinetworking.session.mount(GET_BALANCE, adapter)
        self.addCleanup(antinetworking.session.adapters.pop, GET_BALANCE, None)
        solver = imagecaptcha()
        solver.set_key(key)
        return solver, adapter.urls



class OfficialClients(Clients, unittest.TestCase):
    def test_twocaptcha_balance(self):
        control("/mock/scenario", {"scenario": "ok", "balance": "12.345", "drainPerMinute": "0"})
        solver, urls = self.twocaptcha()
        balance = solver.balance()
        self.assertIs(type(balance), float)
        self.assertEqual(balance, 12.345)
        self.assertEqual(len(urls), 1)
        # No `json=1`: the plain-text answer is what `float()` reads.
        self.assertEqual(urls, [(base + "/res.php", {"key": CLIENT_KEY, "action": "getbalance"})])

    def test_twocaptcha_error(self):
        control("/mock/scenario", {"scenario": "error_zero_balance"})
        solver, _ = self.twocaptcha()
        with self.assertRaises(ApiException) as raised:
            solver.balance()
        self.assertEqual(str(raised.exception), "ERROR_ZERO_BALANCE")

    def test_twocaptcha_named_account(self):
        # `server` may carry a path: `/accounts/NAME` picks an account (archive's key is
        # rejected upstream, in the mock fleet).
        solver, _ = self.twocaptcha("/accounts/archive")
        with self.assertRaises(ApiException) as raised:
            solver.balance()
        self.assertEqual(str(raised.exception), "ERROR_KEY_DOES_NOT_EXIST")

    def test_anticaptcha_balance(self):
        control("/mock/scenario", {"scenario": "ok", "balance": "12.345", "drainPerMinute": "0"})
        solver, urls = self.anticaptcha()
        balance = solver.get_balance()
        self.assertIs(type(balance), float)
        self.assertEqual(balance, 12.345)
        self.assertEqual(len(urls), 1)
        self.assertRegex(urls[0], r"^http://127\.0\.0\.1:\d+/getBalance$")

    def test_anticaptcha_error(self):
        control("/mock/scenario", {"scenario": "error_zero_balance"})
        solver, _ = self.anticaptcha()
        answer = solver.make_request("getBalance", {"clientKey": CLIENT_KEY})
        self.assertEqual(
            answer,
            {"errorId": 1, "errorCode": "ERROR_ZERO_BALANCE", "errorDescription": "zero_balance"},
        )
        # What the library's get_balance() does with an error answer: it has no balance.
        with self.assertRaises(KeyError):
            solver.get_balance()

    def test_anticaptcha_named_account(self):
        control(
            "/mock/scenario?account=staging",
            {"scenario": "ok", "balance": "3.5", "drainPerMinute": "0"},
        )
        solver, _ = self.anticaptcha("/accounts/staging/")
        self.assertEqual(solver.get_balance(), 3.5)

    def test_captchaai_threads_info(self):
        # The mock plan's load moves with the clock: the SDK's counts are the server's, from
        # the one check both read.
        solver = self.captchaai()
        info = solver.threads_info()
        account = self.state()
        self.assertEqual(
            info, {"threads": account["threads"], "working_threads": account["workingThreads"]}
        )
        self.assertEqual(info["threads"], 10)
        self.assertLess(info["working_threads"], 10)
        control("/mock/scenario", {"scenario": "saturated"})
        self.assertEqual(solver.threads_info(), {"threads": 10, "working_threads": 10})
        control("/mock/scenario", {"scenario": "expired"})
        self.assertEqual(solver.threads_info(), {"threads": 0, "working_threads": 0})

    def test_captchaai_named_account(self):
        control("/mock/scenario", {"scenario": "saturated"})
        solver = self.captchaai("/accounts/production")
        self.assertEqual(solver.threads_info(), {"threads": 10, "working_threads": 10})
        # An account whose provider sells no thread plans has no threads to tell: the SDK says
        # the answer has none (not a key error).
        with self.assertRaises(captchaai.APIError) as raised:
            self.captchaai("/accounts/staging")
        self.assertNotIsInstance(raised.exception, captchaai.InvalidKeyError)

    def test_captchaai_wrong_key(self):
        for scenario in ("wrong_key", "key_not_found"):
            control("/mock/scenario", {"scenario": scenario})
            with self.assertRaises(captchaai.InvalidKeyError):
                self.captchaai()
        # The SDK's own check, before any request: a key must be 32 characters.
        with self.assertRaises(captchaai.InvalidKeyError):
            self.captchaai(key="short")

    def test_getbalance_by_post_form(self):
        # The SDK's transport, as it sends everything: a POST form to res.php.
        control("/mock/scenario", {"scenario": "ok", "balance": "12.345", "drainPerMinute": "0"})
        transport = SyncTransport(timeout=10)
        self.addCleanup(transport.close)
        fields = {"key": CLIENT_KEY, "action": "getbalance", "json": 1}
        answer = transport.request_raw("POST", base + "/res.php", fields)
        self.assertEqual((answer.status_code, answer.body), (200, {"status": 1, "request": "12.345"}))
        # Without json=1 the bare balance (which the transport reads as a JSON number).
        del fields["json"]
        answer = transport.request_raw("POST", base + "/accounts/production/res.php", fields)
        self.assertEqual((answer.status_code, answer.body), (200, 12.345))

    def test_zz_the_client_key_is_never_logged(self):
        # Runs last (unittest sorts by name): every request above is in the log by now.
        log.seek(0)
        text = log.read()
        self.assertIn("/getBalance", text, "the trace log lists the requests")
        self.assertNotIn(CLIENT_KEY, text)


class WithAToken(Clients, unittest.TestCase):
    """A server started with `--token-env`: the token goes where the client wants its key."""

    token = TOKEN

    @classmethod
    def setUpClass(cls):
        cls.process, cls.base, cls.log = start_server(
            ["--token-env", "CAB_TEST_TOKEN"], {"CAB_TEST_TOKEN": TOKEN}
        )

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        cls.process.wait(timeout=10)
        cls.log.close()

    def server_base(self):
        return self.base

    def test_the_token_as_the_key(self):
        self.control("/mock/scenario", {"scenario": "ok", "balance": "12.345", "drainPerMinute": "0"})
        self.control(
            "/mock/scenario?account=staging",
            {"scenario": "ok", "balance": "3.5", "drainPerMinute": "0"},
        )
        solver, urls = self.twocaptcha(key=TOKEN)
        self.assertEqual(solver.balance(), 12.345)
        self.assertEqual(urls[0][1], {"key": TOKEN, "action": "getbalance"})
        solver, _ = self.twocaptcha("/accounts/staging", key=TOKEN)
        self.assertEqual(solver.balance(), 3.5)
        solver, _ = self.anticaptcha(key=TOKEN)
        self.assertEqual(solver.get_balance(), 12.345)
        solver, _ = self.anticaptcha("/accounts/staging/", key=TOKEN)
        self.assertEqual(solver.get_balance(), 3.5)

    def test_captchaai_with_the_token_as_the_key(self):
        self.control("/mock/scenario", {"scenario": "saturated"})
        solver = self.captchaai(key=TOKEN)
        self.assertEqual(solver.threads_info(), {"threads": 10, "working_threads": 10})
        self.assertEqual(
            self.captchaai("/accounts/production", key=TOKEN).threads_info()["threads"], 10
        )
        for key in (CLIENT_KEY, TOKEN[:-1] + "2"):
            with self.assertRaises(captchaai.InvalidKeyError):
                self.captchaai(key=key)

    def test_another_key_gets_the_key_error(self):
        for key in (CLIENT_KEY, TOKEN[:-1] + "2"):
            solver, _ = self.twocaptcha(key=key)
            with self.assertRaises(ApiException) as raised:
                solver.balance()
            self.assertEqual(str(raised.exception), "ERROR_KEY_DOES_NOT_EXIST")
            solver, _ = self.anticaptcha(key=key)
            self.assertEqual(
                solver.make_request("getBalance", {"clientKey": key}),
                {
                    "errorId": 1,
                    "errorCode": "ERROR_KEY_DOES_NOT_EXIST",
                    "errorDescription": "key_not_found",
                },
            )

    def test_zz_the_token_is_never_logged(self):
        self.log.seek(0)
        text = self.log.read()
        self.assertIn("/getBalance", text, "the trace log lists the requests")
        self.assertNotIn(TOKEN, text)


if __name__ == "__main__":
    unittest.main()
