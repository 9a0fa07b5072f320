"""eval.variants: the variant syntax of scripts/bench_variants.py."""

from eval.variants import parse_variants


def test_variants_parse_into_switches_and_values():
    assert parse_variants("plain=;sft=sft;fft=loss:l1-ssim-fft;all=sft,sin-block,preset:m") == [
        ("plain", {}), ("sft", {"sft": True}), ("fft", {"loss": "l1-ssim-fft"}),
        ("all", {"sft": True, "sin_block": True, "preset": "m"})]
