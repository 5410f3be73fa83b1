"""The SlimBench leaderboard: a Streamlit app over validated records (see leaderboard/app.py)."""
