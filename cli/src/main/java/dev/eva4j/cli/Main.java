package dev.eva4j.cli;

public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("eva4j: under construction");
    }
}
