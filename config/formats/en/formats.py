# The staff console shows timestamps to the second and says which zone (always UTC here): support matches
# them against partners' logs and the API's ISO-8601 times, which Django's "Dec. 11, 2025, 10:02 a.m." hides.
DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
