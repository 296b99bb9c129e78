"""Judging: profiles and frameworks (`profiles`), manual evidence (`manual`), the verdict
per requirement (`assess`) and everything a report needs, gathered once (`report_data`)."""
