"""The signature maths against the reference's worked examples (produced by SDK 1.46.3)."""

from __future__ import annotations

import pytest

from darkroom.auth.policy import check_params_to_sign
from darkroom.auth import PolicyRefused, response_signature, sign_params, string_to_sign, url_signature
from darkroom.auth.requests import parse_basic_auth, verify_url_signature
from darkroom.auth.signing import signature_matches

T = 1315060510


@pytest.mark.parametrize(
    ("params", "algorithm", "expected"),
    [
        ({"public_id": "sample_image", "timestamp": T}, "sha1", "b4ad47fb4e25c7bf5f92a20089f9db59bc302313"),
        ({"eager": "w_400,h_300,c_pad|w_260,h_200,c_crop", "public_id": "sample_image", "timestamp": T}, "sha1", "bfd09f95f331f558cbd1320e67aa8d488770583e"),
        ({"eager": "w_400,h_300,c_pad|w_260,h_200,c_crop", "public_id": "sample_image", "timestamp": T}, "sha256", "cc927e1290f9e3ae4c1a741eda21a4630b4ce80f9ce0bc0296337d25cf40f91e"),
        ({"command": "add", "public_ids": ["p1", "p2"], "tag": ["t1", "t2"], "timestamp": T}, "sha1", "6bc68cee5e971e219e827af5f2d62c8ec587ef30"),
        ({"invalidate": 1, "public_id": "sample", "timestamp": T}, "sha1", "70f0cc2e143ef7b2c48546bf62c65af7b275a940"),
        ({"source": "uw", "timestamp": T, "upload_preset": "signed_preset", "folder": "ugc"}, "sha1", "152547c7ca201cd78df067176a9a7056604f0851"),
    ],
)
def test_request_signature_matches_the_sdk(params: dict[str, object], algorithm: str, expected: str) -> None:
    assert sign_params(params, "abcd", algorithm=algorithm) == expected


def test_upload_with_context_and_eager_signs_like_the_sdk() -> None:
    params = {
        "context": "alt=My\\=alt|caption=x\\|y",
        "eager": "c_scale,w_100|w_50/png",
        "metadata": "f1=v1",
        "overwrite": "1",
        "public_id": "sample",
        "tags": "a,b",
        "timestamp": T,
        "transformation": "c_limit,w_200",
        "unique_filename": "0",
        "folder": "",
    }
    assert sign_params(params, "abcd") == "93c2f53cb06ed37aedc6e17af7beffabd374a140"


def test_ampersands_are_escaped_in_version_2_and_both_versions_are_accepted() -> None:
    params = {"public_id": "a&b", "notification_url": "https://x.test/cb?a=1&b=2", "timestamp": T}
    assert string_to_sign(params) == "notification_url=https://x.test/cb?a=1%26b=2&public_id=a%26b&timestamp=1315060510"
    assert sign_params(params, "abcd") == "9ab588c07ce7d0659e579bab8f672f40c051f78a"
    assert sign_params(params, "abcd", version=1) == "879081ce976380708fd67de4e04a833cebbcee19"
    assert signature_matches(params, "abcd", "879081ce976380708fd67de4e04a833cebbcee19")
    assert not signature_matches(params, "abce", "879081ce976380708fd67de4e04a833cebbcee19")


def test_sdk_vector_signs_whatever_it_is_given() -> None:
    params = {"cloud_name": "dn6ot3ged", "timestamp": 1568810420, "username": "user@cloudinary.com"}
    assert sign_params(params, "hdcixPpR2iKERPwqvH6sHdK9cyac") == "14c00ba6d0dfdedbc86b316847d95b9e6cd46d94"


def test_response_signature() -> None:
    assert response_signature("sample", 1312461204, "abcd") == "7332b60d1da7033c332c59cb66dac31f72acc44c"
    assert response_signature("sample", 1312461204, "abcd", algorithm="sha256") == "d5c22bdf14b88713b860b62622e0ae4a1ee50efb3405d8b454e329b262c437fe"
    assert response_signature("tests/logo.png", 1, "X7qLTrsES31MzxxkxPPA-pAGGfU") == "08d3107a5b2ad82e7d82c0b972218fbf20b5b1e0"


@pytest.mark.parametrize(
    ("signed", "algorithm", "long", "expected"),
    [
        ("sample.jpg", "sha1", False, "v2fTPYTu"),
        ("sample.jpg", "sha256", False, "2hbrSMPO"),
        ("sample.jpg", "sha1", True, "2hbrSMPOjj5BJ4xV7SgFbRDevFaQNUFf"),
        ("image.jpg", "sha1", False, "--SjmNDA"),
        ("c_crop,h_20,w_10/image.jpg", "sha1", False, "Ai4Znfl3"),
        ("folder/sample.png", "sha1", False, "3YV4bmhp"),
    ],
)
def test_url_signature(signed: str, algorithm: str, long: bool, expected: str) -> None:
    assert url_signature(signed, "b", algorithm=algorithm, long=long) == expected
    assert verify_url_signature(f"s--{expected}--", signed, ["wrong", "b"])
    assert not verify_url_signature(f"s--{expected}--", signed + "x", ["b"])


def test_basic_auth_header_is_parsed() -> None:
    assert parse_basic_auth("Basic MTIzOmFiYzpk") == ("123", "abc:d")
    assert parse_basic_auth("Bearer x") is None
    assert parse_basic_auth("Basic !!!") is None


POLICY = {"allowed_params": ("folder", "upload_preset", "public_id"), "folder_prefix": "ugc", "allowed_presets": ("signed_preset",), "max_skew_seconds": 300}


def test_policy_admits_what_it_allows() -> None:
    check_params_to_sign({"timestamp": 1000, "source": "uw", "folder": "ugc/alice", "upload_preset": "signed_preset"}, now=1100, **POLICY)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"timestamp": 1000, "folder": "ugc", "upload_preset": "signed_preset", "overwrite": "1"}, "Parameter not allowed"),
        ({"timestamp": 1000, "folder": "other", "upload_preset": "signed_preset"}, "folder must be inside ugc/"),
        ({"timestamp": 1000, "folder": "ugcx", "upload_preset": "signed_preset"}, "folder must be inside ugc/"),
        ({"timestamp": 1000, "upload_preset": "signed_preset"}, "folder is required"),
        ({"timestamp": 1000, "folder": "ugc/../x", "upload_preset": "signed_preset"}, "may not contain '..'"),
        ({"timestamp": 1000, "folder": "ugc", "upload_preset": "other"}, "Upload preset not allowed"),
        ({"timestamp": 100, "folder": "ugc", "upload_preset": "signed_preset"}, "seconds from the server's time"),
        ({"folder": "ugc", "upload_preset": "signed_preset"}, "timestamp is required"),
        ({"timestamp": 1000, "folder": "ugc", "upload_preset": "signed_preset", "public_id": "../escape"}, "may not leave its folder"),
    ],
)
def test_policy_refuses_with_the_reason(params: dict[str, object], reason: str) -> None:
    with pytest.raises(PolicyRefused, match=reason):
        check_params_to_sign(params, now=1100, **POLICY)
