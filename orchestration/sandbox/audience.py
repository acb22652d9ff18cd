"""The sandbox account's contact list, as a sender would upload it: every person its campaigns
reach (most of them: some were never in a list), on one of a few lists, with tags, an external
id, a name and an email, the numbers written the ways people write them, and a couple of rows
no warehouse can store. Deterministic from the account's seed, and kept as arrays too, so tests
count the breakdowns by list from the same truth the file came from."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orchestration.sandbox.generator import (
    AccountConfig,
    generate_calls,
    generate_sms,
    plan_account,
)

LISTS = ("Customers", "Newsletter", "Prospects")
TAGS = ("vip", "new", "dormant", "north", "south")
IN_FILE_SHARE = 0.9  # the rest were reached from a list never uploaded here
CONVERSION_SHARE = 0.05  # of the people reached: one purchase each
CONVERSION_DELAY_HOURS = (1, 240)  # after their last reach: some fall outside a 7-day window
TAG_SHARE = 0.2
BAD_ROWS = (("", "CUST-BAD-1", "No Number", "nobody@example.com", "", ""),
            ("call me maybe", "CUST-BAD-2", "Not A Number", "bad@example.com", "", ""))


@dataclass(frozen=True)
class SandboxConversions:
    person: np.ndarray  # index into SandboxContacts
    occurred_at: np.ndarray  # int64 epoch
    amount: np.ndarray  # float, INR, two decimals
    by_external_id: np.ndarray  # bool: the row names the contact's external id, not the phone


@dataclass(frozen=True)
class SandboxContacts:
    number: np.ndarray  # int64 national numbers (10 digits), every person reached
    in_file: np.ndarray  # bool: written to the contacts file
    list_index: np.ndarray  # int8 into LISTS
    tags: np.ndarray  # bool (person, tag) into TAGS

    def e164(self, i: int) -> str:
        return f"+91{int(self.number[i])}"

    def external_id(self, i: int) -> str:
        return f"CUST-{i:07d}"

    def email(self, i: int) -> str:
        return f"person{i}@example.com"


def _reaches(config: AccountConfig) -> tuple[np.ndarray, np.ndarray]:
    """Every (number, when a campaign reached it): SMS submission, a call's first attempt."""
    numbers, times = [], []
    for plan in plan_account(config):
        if plan.channel == "sms":
            details = generate_sms(plan, config)
            numbers.append(details.recipient)
            times.append(details.submit_at)
        else:
            calls = generate_calls(plan, config)
            first = calls.attempt_number == 1
            numbers.append(calls.recipient[first])
            times.append(calls.start_at[first])
    if not numbers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(numbers), np.concatenate(times)


def sandbox_contacts(config: AccountConfig) -> SandboxContacts:
    number = np.unique(_reaches(config)[0])
    rng = np.random.default_rng([config.seed, 5])
    n = number.size
    return SandboxContacts(number, rng.random(n) < IN_FILE_SHARE,
                           rng.integers(0, len(LISTS), n).astype(np.int8),
                           rng.random((n, len(TAGS))) < TAG_SHARE)


def _written(national: int, style: int) -> str:
    text = str(national)
    return (f"+91{text}", f"0{text}", f"{text[:5]} {text[5:]}", f"+91 {text[:5]}-{text[5:]}"
            )[style]


def write_contacts_csv(contacts: SandboxContacts, path: Path) -> int:
    """The file, with the bad rows last; how many rows it has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Phone", "External ID", "Name", "Email", "Lists", "Tags", "Plan"])
        for i in np.flatnonzero(contacts.in_file):
            tags = ";".join(t for t, on in zip(TAGS, contacts.tags[i], strict=True) if on)
            writer.writerow([_written(int(contacts.number[i]), i % 4), contacts.external_id(i),
                             f"Person {i}", contacts.email(i),
                             LISTS[contacts.list_index[i]], tags, ("basic", "premium")[i % 2]])
            rows += 1
        for bad in BAD_ROWS:
            writer.writerow([*bad, "basic"])
            rows += 1
    return rows


def sandbox_conversions(config: AccountConfig, contacts: SandboxContacts) -> SandboxConversions:
    """One purchase by a share of the people reached, some hours to days after their last
    reach; those in the contacts file are named by external id half the time."""
    numbers, times = _reaches(config)
    last = np.zeros(contacts.number.size, dtype=np.int64)
    np.maximum.at(last, np.searchsorted(contacts.number, numbers), times)
    rng = np.random.default_rng([config.seed, 6])
    person = np.flatnonzero(rng.random(contacts.number.size) < CONVERSION_SHARE)
    low, high = CONVERSION_DELAY_HOURS
    delay = (rng.uniform(low, high, person.size) * 3600).astype(np.int64)
    amount = np.round(rng.uniform(100, 5000, person.size), 2)
    by_external_id = contacts.in_file[person] & (rng.random(person.size) < 0.5)
    return SandboxConversions(person, last[person] + delay, amount, by_external_id)


def write_conversions_csv(contacts: SandboxContacts, conversions: SandboxConversions,
                          path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Order ID", "Phone", "External ID", "Amount", "Currency",
                         "Occurred At"])
        for k, person in enumerate(conversions.person):
            when = dt.datetime.fromtimestamp(int(conversions.occurred_at[k]), dt.UTC)
            named = conversions.by_external_id[k]
            writer.writerow([f"ORD-{k:06d}", "" if named else contacts.e164(int(person)),
                             contacts.external_id(int(person)) if named else "",
                             f"{conversions.amount[k]:.2f}", "INR", when.isoformat()])
        writer.writerow(["ORD-BAD", "", "", "12.00", "INR", "2026-01-01T00:00:00+00:00"])
    return conversions.person.size + 1
