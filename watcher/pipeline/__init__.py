"""The pure, synchronous pipeline: decode, match, bucket, detect, assemble alerts. No asyncio."""
