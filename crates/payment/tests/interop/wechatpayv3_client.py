#!/usr/bin/env python3
"""An independent WeChat Pay v3 client (PyPI wechatpayv3, public-key mode) against paysim.

Usage: wechatpayv3_client.py KEYS_DIR PAYSIM_URL

Creates a Native order, queries it, has paysim "scan and pay" it through the control call,
receives the signed and encrypted callback on its own http.server and decrypts it with the
library, queries again, then creates a second order and closes it. Every step is asserted; each
prints one line. Exit 0 when all steps pass.
"""
import json
import os
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
from wechatpayv3 import WeChatPay, WeChatPayType


def main():
    keys_dir, gateway = sys.argv[1], sys.argv[2].rstrip("/")
    with open(os.path.join(keys_dir, "merchant.json"), encoding="utf-8") as f:
        merchant = json.load(f)
    with open(os.path.join(keys_dir, "apiclient_key.pem"), encoding="utf-8") as f:
        private_key = f.read()
    with open(os.path.join(keys_dir, "pub_key.pem"), encoding="utf-8") as f:
        public_key = f.read()

    callbacks = []
    received = threading.Event()

    class Notify(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k: v for k, v in self.headers.items()}
            result = wx.callback(headers, body)
            if result and result.get("event_type") == "TRANSACTION.SUCCESS":
                callbacks.append(result)
                received.set()
                self.send_response(204)
            else:
                self.send_response(400)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Notify)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    notify_url = "http://127.0.0.1:%d/notify" % server.server_address[1]

    wx = WeChatPay(
        wechatpay_type=WeChatPayType.NATIVE,
        mchid=merchant["mchid"],
        private_key=private_key,
        cert_serial_no=merchant["merchant_serial"],
        apiv3_key=merchant["apiv3_key"],
        appid=merchant["appid"],
        notify_url=notify_url,
        public_key=public_key,
        public_key_id=merchant["public_key_id"],
    )
    # The library's host is fixed; point it at paysim (public-key mode makes no start-up call).
    wx._core._gate_way = gateway

    stamp = str(int(time.time()))
    out_trade_no = "PYINTEROP" + stamp
    expire = (datetime.now(timezone(timedelta(hours=8))) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    code, message = wx.pay(
        description="居民身份证工本费（到期换领）",
        out_trade_no=out_trade_no,
        amount={"total": 2000},
        time_expire=expire,
    )
    assert code == 200, (code, message)
    code_url = json.loads(message)["code_url"]
    assert code_url.startswith("weixin://wxpay/bizpayurl?pr="), code_url
    print("create 200 " + code_url)

    code, message = wx.query(out_trade_no=out_trade_no)
    assert code == 200, (code, message)
    assert json.loads(message)["trade_state"] == "NOTPAY", message
    print("query NOTPAY")

    paid = requests.post(gateway + "/sim/pay", json={"code_url": code_url}, timeout=10)
    assert paid.status_code == 200, paid.text
    assert received.wait(15), "no callback within 15 s"
    callback = callbacks[0]
    resource = callback["resource"]
    assert resource["out_trade_no"] == out_trade_no, resource
    assert resource["trade_state"] == "SUCCESS", resource
    assert resource["amount"]["total"] == 2000, resource
    assert resource["mchid"] == merchant["mchid"], resource
    print("callback verified and decrypted TRANSACTION.SUCCESS " + resource["transaction_id"])

    code, message = wx.query(out_trade_no=out_trade_no)
    assert code == 200, (code, message)
    answer = json.loads(message)
    assert answer["trade_state"] == "SUCCESS", message
    assert answer["transaction_id"] == resource["transaction_id"], message
    print("query SUCCESS")

    second = "PYCLOSE" + stamp
    code, message = wx.pay(description="居民身份证工本费（丢失补领）", out_trade_no=second, amount={"total": 4000})
    assert code == 200, (code, message)
    code, message = wx.close(out_trade_no=second)
    assert code == 204, (code, message)
    print("close 204")
    code, message = wx.query(out_trade_no=second)
    assert code == 200 and json.loads(message)["trade_state"] == "CLOSED", (code, message)
    print("query CLOSED")

    server.shutdown()
    print("interop ok")


if __name__ == "__main__":
    main()
