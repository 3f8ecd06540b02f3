"""The one link-token helper: fresh tokens, and digests that match the links already sent."""

from portal.tokens import TOKEN_MAX_LENGTH, new_token, plausible_token, token_digest


def test_digest_is_the_hex_sha256_of_the_raw_token_so_sent_links_keep_working():
    # The FIPS 180-2 test vector: every stored hash was made this way.
    assert token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_new_tokens_are_url_safe_256_bit_and_distinct():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(t) == 43 and plausible_token(t) for t in tokens)
    assert all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for t in tokens)


def test_empty_or_overlong_input_is_not_a_token():
    assert not plausible_token("") and not plausible_token(None)
    assert plausible_token("x" * TOKEN_MAX_LENGTH) and not plausible_token("x" * (TOKEN_MAX_LENGTH + 1))


def test_every_link_kind_uses_the_one_helper():
    import inspect

    from portal.accounts import tokens as accounts_tokens
    from portal.booking import calendar
    from portal.booking import services as booking_services
    from portal.tickets import guest_links as ticket_services

    for module in (accounts_tokens, calendar, booking_services, ticket_services):
        source = inspect.getsource(module)
        assert "token_digest(" in source and "hashlib" not in source and "token_urlsafe" not in source, module
