"""Programs: the intensive outpatient week (people, weekly schedule, occurrences, attendance).

Pure like the rest of `rooms/`: time comes in as an argument, nothing here reads a
clock, a file (beyond the time-zone database `zoneinfo` consults) or the network.
"""
