"""Inter-level assessment: campaigns, computed and assessed indicators, rankings, awards and notices."""
