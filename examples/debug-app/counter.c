/* The app to debug: sums the squares of 1 to 4 and exits 3 when the sum is 30. */
#include <stdio.h>

static int square(int n)
{
	return n * n;
}

int main(void)
{
	int total = 0;

	for (int i = 1; i <= 4; i++)
		total += square(i);
	printf("total: %d\n", total);
	return total == 30 ? 3 : 1;
}
