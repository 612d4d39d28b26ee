"""Background work (RQ) with durable records, notifications, and the schedule of periodic scans."""
