"""Held-out evaluation prompts shared by the capabilities whose effect is read on continuations of neutral text."""

from __future__ import annotations

__all__ = ["NEUTRAL_PROMPTS"]

# Held-out prompts: neutral openings written for evaluation only (no sentiment words, no extraction subject).
NEUTRAL_PROMPTS = (
    "I walked into the room and", "Yesterday my friend called to tell me that", "The weather this morning was",
    "When I opened the letter, I", "My first day at the new school was", "The meeting on Tuesday",
    "After dinner we sat down and", "The package arrived at noon and", "Looking out of the window, I thought",
    "The report from the committee said", "Our neighbours moved in last week and", "The bus was late again, so",
    "I tried the recipe my aunt sent me, and", "The doctor looked at the results and",
    "At the end of the day, the team",
    "The old house on the corner", "When the phone rang, my brother", "The teacher handed back our essays and",
    "We finally reached the top of the hill and", "The store had changed its opening hours, and",
    "My grandmother told me a story about", "The new manager introduced herself and", "I checked my email and saw",
    "The flight landed an hour early, and", "The results of the election", "Walking home through the market, I",
    "The children came back from the trip and", "The landlord sent a message saying", "I sat down to write about",
    "The interview lasted two hours and", "The river had risen overnight, and", "My cousin visited us and",
    "The mechanic called about the car and", "The library was quiet when I", "The exam results were posted and",
    "On the radio they announced that", "The first chapter of the novel", "I met my old classmate and",
    "The town council decided to", "When we arrived at the station,",
)
