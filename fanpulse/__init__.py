"""fanpulse: audience and engagement figures for a hierarchy of Facebook Pages."""
