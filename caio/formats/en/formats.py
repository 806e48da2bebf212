"""English date formats with the time zone named: the back office shows UTC while the
operating day (window, ramp days, reports) follows OPERATING_TIMEZONE, so a bare
"8:54 p.m." would be read in the wrong zone."""

DATETIME_FORMAT = "N j, Y, P T"
SHORT_DATETIME_FORMAT = "m/d/Y P T"
