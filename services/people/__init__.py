"""The people of a school and how they reach Parta: the school's classes and staff (`school`),
access codes and their printed letters (`codes`, `letters`), linking families to students and
trusted persons (`linking`), "last opened" stamps written in batches (`opened`), and forgetting
people (`privacy`)."""
