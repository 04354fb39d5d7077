"""A real S3 implementation for the audit archive's tests: moto's server,
with authentication enforced (SigV4 checked against an IAM user's key) and
a bucket with Object Lock. Prints one JSON line (endpoint, keys, bucket),
then serves until its stdin closes.

The first three requests are let through unauthenticated
(INITIAL_NO_AUTH_ACTION_COUNT=3) to create the IAM user, its key and its
policy; every request after that must be signed with that key.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

ALLOW_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        cfg = Config(s3={"addressing_style": "path"})
        anon = dict(endpoint_url=endpoint, region_name="us-east-1",
                    aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam = boto3.client("iam", **anon)
        iam.create_user(UserName="archiver")
        key = iam.create_access_key(UserName="archiver")["AccessKey"]
        iam.put_user_policy(UserName="archiver", PolicyName="all", PolicyDocument=ALLOW_ALL)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg,
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        s3.create_bucket(Bucket="audit", ObjectLockEnabledForBucket=True)
        print(json.dumps({"endpoint": endpoint, "region": "us-east-1", "bucket": "audit",
                          "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}),
              flush=True)
        sys.stdin.read()
    finally:
        server.terminate()
        server.wait()


main()
