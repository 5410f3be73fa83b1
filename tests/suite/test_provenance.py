"""Provenance: CPU vendor/model, the ISA features that decide int8/fp16 speed, and the ISA class label."""
import pytest

from suite.records.provenance import cpu_info, isa_class, parse_cpuinfo

EPYC = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 1
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
flags\t\t: fpu sse4_2 avx fma avx2 bmi2
processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse4_2 avx fma avx2 bmi2
"""
SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz
flags\t\t: avx avx2 avx512f avx512bw avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8 avx_vnni
"""
GRAVITON3 = """processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm asimddp i8mm bf16 sve
CPU implementer\t: 0x41
CPU part\t: 0xd40
"""


def test_amd_epyc_avx2_only():
    info = parse_cpuinfo(EPYC, "x86_64")
    assert (info["vendor"], info["model"], info["family"], info["model_id"]) == ("AuthenticAMD", "AMD EPYC", "25", "1")
    assert info["isa"]["avx2"] is True
    assert not any(info["isa"][f] for f in ("avx512f", "avx512_vnni", "avx_vnni", "amx_int8"))
    assert info["isa_class"] == "x86-avx2"
    assert "bmi2" not in info["flags"]  # only the features that matter are kept


def test_xeon_with_amx_is_its_own_class():
    info = parse_cpuinfo(SAPPHIRE_RAPIDS, "x86_64")
    assert info["vendor"] == "GenuineIntel" and info["model"].startswith("Intel(R) Xeon")
    assert info["isa"]["avx512_vnni"] and info["isa"]["amx_int8"] and info["isa"]["avx_vnni"]
    assert info["isa_class"] == "x86-amx"


def test_arm_dotprod_i8mm():
    info = parse_cpuinfo(GRAVITON3, "aarch64")
    assert info["vendor"] == "ARM" and info["model_id"] == "0xd40"
    assert info["isa"] == {"asimd": True, "asimddp": True, "i8mm": True, "sve": True}
    assert info["isa_class"] == "arm-i8mm"


@pytest.mark.parametrize("flags, machine, expected", [
    (["avx2", "avx512f"], "x86_64", "x86-avx512"),
    (["avx2", "avx512f", "avx512_vnni"], "x86_64", "x86-avx512-vnni"),
    (["avx2", "avx_vnni"], "x86_64", "x86-avx-vnni"),
    (["avx2", "avxvnni"], "x86_64", "x86-avx-vnni"),  # older kernels' spelling
    (["sse4_2"], "x86_64", "x86-baseline"),
    (["asimd"], "aarch64", "arm-neon"),
    (["asimd", "asimddp"], "aarch64", "arm-dotprod"),
    ([], "riscv64", "unknown"),
])
def test_isa_class_ladder(flags, machine, expected):
    assert isa_class(flags, machine) == expected


def test_this_machine_is_described():
    info = cpu_info()
    assert info["model"] and info["isa_class"] and info["usable_cores"] >= 1
    assert info["isa_class"] == isa_class(info["flags"], info["machine"])  # old records' flags give the same class


def test_record_carries_isa_and_validates(quick_session):
    from suite.harness import RunSpec
    from suite.records.store import validate

    record = quick_session.run(RunSpec("digits-mlp", "fp32", "cpu"))
    validate(record)
    cpu = record["provenance"]["cpu"]
    assert cpu["isa_class"] == cpu_info()["isa_class"] and "vendor" in cpu and isinstance(cpu["isa"], dict)


def test_published_records_without_isa_fields_still_validate():
    """Records published before the ISA fields existed stay valid, and their recorded flags give their class."""
    from suite.paths import PUBLISHED_RESULTS
    from suite.records.store import RecordStore

    records = RecordStore(PUBLISHED_RESULTS).records()  # raises on any invalid file
    assert records
    from suite.records.provenance import record_isa_class

    old = [r for r in records if "isa_class" not in r["provenance"]["cpu"]]
    for record in old:
        cpu = record["provenance"]["cpu"]
        assert record_isa_class(record) == isa_class(cpu.get("flags") or [], cpu.get("machine", "")) != ""
    assert record_isa_class({"provenance": {"cpu": {"model": "x", "isa_class": "x86-amx"}}}) == "x86-amx"
    assert record_isa_class({"provenance": {"cpu": {"model": "x", "flags": ["avx2"], "machine": "x86_64"}}}) \
        == "x86-avx2"
