"""Simulated readers for bench/load.py: browse, search, open papers and upvote.

Each simulated reader logs in with a session that bench/load.py prepared, and
upvotes papers it has not upvoted yet; every upvote the site accepted is written
to BENCH_UPVOTES_OUT so load.py can compare it with the database.
"""

import itertools
import json
import os
import random

from locust import HttpUser, between, events, task

FIXTURE = json.loads(open(os.environ["BENCH_FIXTURE"]).read())
UPVOTE_PATH = FIXTURE["upvote_path"]  # "/papers/{pk}/upvote/"
SESSIONS = itertools.cycle(FIXTURE["sessions"])
ACCEPTED: list[dict] = []


class Reader(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.session_key = next(SESSIONS)
        self.client.cookies.set("sessionid", self.session_key)
        self.client.get("/", name="/")  # sets the CSRF cookie
        self.not_upvoted = list(FIXTURE["papers"])
        random.shuffle(self.not_upvoted)

    @task(5)
    def trending(self):
        period = random.choice(["day", "week", "month", "all"])
        self.client.get(f"/?period={period}&page={random.randint(1, 3)}", name="/?period=")

    @task(2)
    def tag(self):
        self.client.get(f"/tags/{random.choice(FIXTURE['tags'])}/", name="/tags/[slug]/")

    @task(2)
    def search(self):
        self.client.get(f"/search/?q={random.choice(FIXTURE['words'])}", name="/search/?q=")

    @task(3)
    def paper(self):
        self.client.get(f"/papers/{random.choice(FIXTURE['papers'])['key']}/", name="/papers/[key]/")

    @task(2)
    def upvote(self):
        if not self.not_upvoted:
            return
        paper = self.not_upvoted.pop()
        headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "HX-Request": "true"}
        with self.client.post(
            UPVOTE_PATH.format(pk=paper["pk"]),
            headers=headers,
            name="upvote",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code in (200, 204, 302, 303):
                ACCEPTED.append({"session": self.session_key, "paper": paper["pk"]})
                response.success()
            else:
                response.failure(f"upvote answered {response.status_code}")


class Floor(HttpUser):
    """The same readers' pace against the floor view (bench/floor_urls.py): what the server itself costs."""

    wait_time = between(0.5, 1.5)

    @task
    def floor(self):
        self.client.get("/bench/floor/", name="floor")


@events.test_stop.add_listener
def write_accepted(environment, **kwargs):
    if not os.environ.get("BENCH_UPVOTES_OUT"):
        return
    with open(os.environ["BENCH_UPVOTES_OUT"], "w") as out:
        json.dump(ACCEPTED, out)
