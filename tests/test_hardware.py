"""`zoo.hardware`: which precisions this CPU runs natively, and the warning a run gets otherwise."""

import warnings

import pytest

from zoo import hardware, run_config, training


def _with_flags(monkeypatch, flags):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))


def test_cpu_flags_are_read_from_this_machine():
    hardware.cpu_flags.cache_clear()
    flags = hardware.cpu_flags()
    with open("/proc/cpuinfo", encoding="utf-8") as file:
        text = file.read()
    assert all(flag in text for flag in flags)
    assert set(hardware.reported_cpu_flags()) <= flags


def test_bfloat16_without_native_support_gets_a_one_line_warning(monkeypatch):
    _with_flags(monkeypatch, {"avx2", "fma"})
    message = hardware.precision_warning("mixed_bfloat16")
    assert "emulated" in message and "--mixed-precision float32" in message and "\n" not in message


def test_bfloat16_with_avx512_bf16_or_on_an_accelerator_is_not_warned(monkeypatch):
    _with_flags(monkeypatch, {"avx512f", "avx512_bf16"})
    assert hardware.precision_warning("mixed_bfloat16") is None
    _with_flags(monkeypatch, {"avx2"})
    assert hardware.precision_warning("mixed_bfloat16", has_accelerator=True) is None
    assert hardware.precision_warning(None) is None


def test_the_warning_reaches_a_training_run(monkeypatch):
    _with_flags(monkeypatch, {"avx2"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.warn_about_precision("mixed_bfloat16")
    assert any("emulated on this CPU" in str(item.message) for item in caught)


def test_float32_overrides_a_recipes_mixed_precision():
    assert run_config.mixed_precision_policy("float32") is None
    config = run_config.RunConfig("dcgan", mixed_precision="bfloat16").replace(mixed_precision="float32")
    assert config.policy is None
    with pytest.raises(Exception, match="Use 'float16', 'bfloat16' or 'float32'"):
        run_config.mixed_precision_policy("float64")


def test_machine_description_records_the_flags_that_set_the_speed():
    hardware.cpu_flags.cache_clear()
    assert training.machine_description()["cpu_flags"] == hardware.reported_cpu_flags()
