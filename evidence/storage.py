"""Evidence on S3-compatible object storage (django-storages' ``S3Storage``), configured from
the environment. Pure configuration: no model is imported, so settings can call it.

Uploads stream: the upload chain hands S3Storage a non-seekable reader, which s3transfer sends
as a multipart upload in ``DOCKET_S3_PART_MIB`` parts with at most
``DOCKET_S3_MAX_CONCURRENCY`` parts in flight and a bounded number in memory; nothing reads the
whole file. ``evidence.services`` promotes a finished upload with a server-side copy and reads
objects back as a stream (``S3File`` would copy the whole object into a temporary file first).
"""

from __future__ import annotations

MIB = 1 << 20


def s3_storage_options(env) -> dict:
    """``STORAGES["default"]["OPTIONS"]`` for S3Storage from ``DOCKET_S3_*`` variables.
    Credentials left unset fall back to boto3's chain (instance or task role, ``AWS_*``)."""
    # boto3: needed only when the storage is S3
    from boto3.s3.transfer import TransferConfig

    part = env.int("DOCKET_S3_PART_MIB", default=8) * MIB
    sse = env("DOCKET_S3_SSE", default="AES256")
    object_parameters = {}
    if sse and sse.lower() != "none":
        object_parameters["ServerSideEncryption"] = sse
        if sse == "aws:kms" and env("DOCKET_S3_SSE_KMS_KEY_ID", default=""):
            object_parameters["SSEKMSKeyId"] = env("DOCKET_S3_SSE_KMS_KEY_ID")
    transfer = TransferConfig(
        multipart_threshold=part,
        multipart_chunksize=part,
        max_concurrency=env.int("DOCKET_S3_MAX_CONCURRENCY", default=4),
        max_io_queue=8,
        preferred_transfer_client="classic",
    )
    # Parts of a non-seekable upload held in memory at once (s3transfer's knob; boto3's
    # constructor does not take it): memory stays near (this + concurrency) parts.
    transfer.max_in_memory_upload_chunks = 4
    options = {
        "bucket_name": env("DOCKET_S3_BUCKET"),
        "endpoint_url": env("DOCKET_S3_ENDPOINT_URL", default=None) or None,
        "region_name": env("DOCKET_S3_REGION", default=None) or None,
        "access_key": env("DOCKET_S3_ACCESS_KEY_ID", default=None) or None,
        "secret_key": env("DOCKET_S3_SECRET_ACCESS_KEY", default=None) or None,
        "location": env("DOCKET_S3_PREFIX", default=""),
        "addressing_style": env("DOCKET_S3_ADDRESSING_STYLE", default=None) or None,
        "default_acl": None,
        "file_overwrite": True,  # names are Docket's own (UUIDs); promotion checks for clashes
        "object_parameters": object_parameters,
        "transfer_config": transfer,
    }
    return {k: v for k, v in options.items() if v is not None}
