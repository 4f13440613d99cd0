"""Booking, moving and cancelling a meeting with the coordinator: the booking form
(form.py), its questions (questions.py), reading the person's answers (answers.py), and
their meetings outside the form (meetings.py).

Bookings and slots are always looked up through the conversation (the sender id the
gateway gave Rasa) and its linked case: a booking id in a payload only chooses among the
person's own bookings.
"""
