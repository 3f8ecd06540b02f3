"""Signed thread keys: a key proves the ticket and the recipient, rotates, and nothing else parses."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.mail import threads

KEY, OLD = b"k" * 32, b"o" * 32


def test_reply_address_round_trip_verifies_only_for_its_recipient():
    address = threads.reply_address("Support@Desk.Example", 12, "Ann@Customer.Example", KEY)
    assert address.startswith("support+t.12.") and address.endswith("@desk.example")
    claim = threads.claim_of_address(address)
    assert claim is not None and claim.number == 12
    assert threads.verifies(claim, "ann@customer.example", (KEY,))
    assert threads.verifies(claim, " ANN@customer.example", (KEY,))
    assert not threads.verifies(claim, "mallory@evil.example", (KEY,))
    assert not threads.verifies(threads.Claim(13, claim.signature), "ann@customer.example", (KEY,))


def test_message_id_carries_the_same_proof():
    message_id = threads.message_id("support@desk.example", 7, "ann@customer.example", KEY)
    claim = threads.claim_of_message_id(f"<{message_id}>")
    assert claim == threads.Claim(7, threads.sign(7, "ann@customer.example", KEY))
    assert threads.verifies(claim, "ann@customer.example", (KEY,))
    assert threads.message_id("support@desk.example", 7, "ann@customer.example", KEY) != message_id  # unique


def test_rotation_old_keys_still_verify_new_mail_is_signed_with_the_first():
    old_address = threads.reply_address("s@d.example", 5, "a@c.example", OLD)
    claim = threads.claim_of_address(old_address)
    assert claim is not None
    assert threads.verifies(claim, "a@c.example", (KEY, OLD))
    assert not threads.verifies(claim, "a@c.example", (KEY,))
    assert threads.derive_keys(" new , old ", "secret") == (b"new", b"old")
    assert threads.derive_keys("", "secret") == threads.derive_keys("", "secret") != threads.derive_keys("", "other")


def test_claims_collects_keys_from_addresses_and_references_once():
    address = threads.reply_address("s@d.example", 5, "a@c.example", KEY)
    message_id = threads.message_id("s@d.example", 6, "a@c.example", KEY)
    found = threads.claims([address, "Other <x@y.example>", address], [f"<{message_id}>", "<abc@gmail.com>"])
    assert [c.number for c in found] == [5, 6]


def test_base_address_strips_only_our_key():
    assert threads.base_address("support+t.12.abcdefghijklmnop@desk.example") == "support@desk.example"
    assert threads.base_address("Ann+news@Customer.Example") == "ann+news@customer.example"


@given(st.text(max_size=200))
def test_nothing_else_parses_as_a_claim(text):
    claim = threads.claim_of_address(text)
    if claim is not None:
        assert "+t." in text.lower()
    threads.claim_of_message_id(text)  # never raises
