"""Sign requests with the official Volcengine Python SDK (volcengine on
PyPI, volcengine.auth.SignerV4), for tests/volc_signing.rs to compare with
Portcullis's signer byte for byte.

stdin: a JSON list of cases {method, host, path, query: [[key, value], ...],
date: "YYYYMMDDTHHMMSSZ", ak, sk, region, service}. A key given more than
once becomes a list value (the SDK's own list form).
stdout: a JSON list of {authorization, x_content_sha256}, in order.
"""
import datetime
import json
import sys
from collections import OrderedDict

from volcengine.auth.SignerV4 import SignerV4
from volcengine.auth.SignParam import SignParam
from volcengine.Credentials import Credentials


def sign(case):
    query = OrderedDict()
    for key, value in case["query"]:
        if key in query:
            if not isinstance(query[key], list):
                query[key] = [query[key]]
            query[key].append(value)
        else:
            query[key] = value
    param = SignParam()
    param.method = case["method"]
    param.host = case["host"]
    param.path = case["path"]
    param.body = case.get("body", "")
    param.query = query
    param.header_list = OrderedDict([("Host", case["host"])])
    param.date = datetime.datetime.strptime(case["date"], "%Y%m%dT%H%M%SZ")
    creds = Credentials(case["ak"], case["sk"], case["service"], case["region"])
    result = SignerV4.sign_only(param, creds)
    return {"authorization": result.authorization, "x_content_sha256": result.xContextSha256}


if __name__ == "__main__":
    json.dump([sign(c) for c in json.load(sys.stdin)], sys.stdout)
