"""Where a received mail goes: the channel's safety rules, without a server or database."""

from __future__ import annotations

from portal.mailin.routing import Action, Facts, route


def test_a_plain_new_mail_is_a_ticket_with_an_acknowledgement():
    decided = route(Facts())
    assert decided.action == Action.new_ticket and decided.acknowledge and decided.related is None


def test_no_acknowledgement_over_the_daily_budget_or_for_automatic_mail():
    assert not route(Facts(may_acknowledge=False)).acknowledge
    automatic = route(Facts(automatic="Precedence: bulk"))
    assert automatic.action == Action.new_ticket and not automatic.acknowledge


def test_a_proven_reply_from_a_participant_joins_the_ticket():
    decided = route(Facts(named=12, proven=True, participant=True))
    assert decided == route(Facts(named=12, proven=True, participant=True))
    assert decided.action == Action.reply and decided.ticket == 12


def test_proof_and_participation_are_both_needed():
    for facts in (Facts(named=12, proven=False, participant=True), Facts(named=12, proven=True, participant=False)):
        decided = route(facts)
        assert decided.action == Action.new_ticket and decided.related == 12 and decided.ticket is None


def test_staff_reply_by_mail_and_their_out_of_office():
    assert route(Facts(named=3, proven=True, participant=True, staff=True)).action == Action.staff_reply
    away = route(Facts(named=3, proven=True, participant=True, staff=True, automatic="Auto-Submitted: auto-replied"))
    assert away.action == Action.ignore


def test_automatic_answers_in_a_thread_are_notes_and_unproven_ones_are_dropped():
    assert route(Facts(named=3, proven=True, participant=True, automatic="X-Autoreply")).action == Action.note
    assert route(Facts(named=3, automatic="X-Autoreply")).action == Action.ignore


def test_a_reply_to_a_closed_ticket_is_a_linked_follow_up():
    decided = route(Facts(named=9, proven=True, participant=True, open_for_replies=False))
    assert decided.action == Action.new_ticket and decided.related == 9


def test_duplicates_bounces_our_own_mail_and_held_mail_come_first():
    proven = dict(named=1, proven=True, participant=True)
    assert route(Facts(duplicate=True, **proven)).action == Action.ignore
    assert route(Facts(bounce=True, **proven)).action == Action.bounce
    assert route(Facts(from_ours=True, **proven)).action == Action.ignore
    assert route(Facts(held="more than 30 mails", **proven)).action == Action.hold
