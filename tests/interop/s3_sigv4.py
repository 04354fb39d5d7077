"""Sign requests with botocore's S3 signer (S3SigV4Auth, what the AWS SDK
for Python uses for S3) at a fixed time, for the byte-for-byte cross-check
of Portcullis's archive signing. Reads a JSON list of requests on stdin;
prints the Authorization header of each, one JSON list.
"""

import datetime
import json
import sys
from unittest import mock

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

requests = json.load(sys.stdin)
out = []
for r in requests:
    creds = Credentials(r["access_key_id"], r["secret_access_key"], r.get("session_token"))
    req = AWSRequest(method=r["method"], url=r["url"], data=bytes(r["body"], "utf-8"), headers=dict(r["headers"]))
    signer = S3SigV4Auth(creds, "s3", r["region"])
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=datetime.datetime(2026, 1, 1, 0, 0, 0)):
        signer.add_auth(req)
    out.append({"authorization": req.headers["Authorization"],
                "x-amz-content-sha256": req.headers["X-Amz-Content-SHA256"]})
print(json.dumps(out))
